"""URL input for `ocula serve`: SSRF rules, limits and errors of fetch_image_url.

No network: DNS is an injected resolver and HTTP an httpx.MockTransport, so no socket opens
(the suite blocks sockets anyway)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from ocula.errors import OculaError
from ocula.serve.fetch import UrlRefused, fetch_image_url

PUBLIC = "93.184.216.34"
PUBLIC6 = "2606:2800:220:1:248:1893:25c8:1946"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
HOST = "img.example.com"


class Net:
    """A fake internet: DNS table + one handler per Host header, recording what was asked."""

    def __init__(self, dns: dict[str, list[str]] | None = None, routes=None):
        self.dns = dns if dns is not None else {HOST: [PUBLIC]}
        self.routes = routes or {HOST: lambda req: image_response()}
        self.lookups: list[str] = []
        self.requests: list[httpx.Request] = []

    def resolve(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.dns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.dns[host]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes[request.headers["host"]](request)

    def fetch(self, url: str, **kw) -> bytes:
        kw.setdefault("allowlist", [HOST])
        kw.setdefault("max_bytes", 1_000_000)
        return fetch_image_url(url, resolver=self.resolve, transport=httpx.MockTransport(self.handle), **kw)


def image_response(body: bytes = PNG, ctype: str = "image/png", **kw) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": ctype}, content=body, **kw)


def refused(net: Net, url: str, status: int, *fragments: str, **kw) -> UrlRefused:
    with pytest.raises(UrlRefused) as info:
        net.fetch(url, **kw)
    assert info.value.status == status, str(info.value)
    for fragment in fragments:
        assert fragment in str(info.value)
    return info.value


# --- happy paths -----------------------------------------------------------------------------


def test_happy_path_returns_bytes_and_connects_to_the_vetted_ip():
    net = Net()
    assert net.fetch(f"https://{HOST}/cat.png?x=1") == PNG
    (req,) = net.requests
    assert req.url.host == PUBLIC  # the connection goes to the checked address...
    assert req.url.scheme == "https" and req.url.path == "/cat.png" and req.url.query == b"x=1"
    assert req.headers["host"] == HOST  # ...while the server still sees the name
    assert req.extensions["sni_hostname"] == HOST  # and TLS verifies the name
    assert net.lookups == [HOST]


def test_error_class_is_an_ocula_error():
    assert issubclass(UrlRefused, OculaError)
    assert UrlRefused("x").status == 400


def test_dns_answer_is_used_once_so_rebinding_cannot_swap_the_address():
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    net = Net()
    net.resolve = lambda host: (net.lookups.append(host), next(answers))[1]  # type: ignore[method-assign]
    assert net.fetch(f"http://{HOST}/a.png") == PNG
    assert net.lookups == [HOST]
    assert net.requests[0].url.host == PUBLIC


def test_ipv6_public_address_and_port_kept_in_host_header():
    net = Net(dns={HOST: [PUBLIC6]}, routes={f"{HOST}:8443": lambda req: image_response()})
    assert net.fetch(f"https://{HOST}:8443/a.png") == PNG
    req = net.requests[0]
    assert req.url.host == PUBLIC6 and req.url.port == 8443


@pytest.mark.parametrize("ctype", ["image/png", "image/jpeg; charset=binary", "application/octet-stream", ""])
def test_image_or_neutral_content_types_are_accepted(ctype):
    net = Net(routes={HOST: lambda req: image_response(ctype=ctype)})
    assert net.fetch(f"http://{HOST}/a") == PNG


def test_relative_redirect_is_followed():
    def route(req):
        if req.url.path == "/old":
            return httpx.Response(302, headers={"location": "/new.png"})
        return image_response()

    net = Net(routes={HOST: route})
    assert net.fetch(f"http://{HOST}/old") == PNG
    assert [r.url.path for r in net.requests] == ["/old", "/new.png"]


# --- allowlist -------------------------------------------------------------------------------


def test_empty_allowlist_refuses_everything_without_a_dns_lookup():
    net = Net()
    refused(net, f"https://{HOST}/a.png", 400, f"host {HOST} is not on the server's URL allowlist",
            "the allowlist is empty", allowlist=[])
    assert net.lookups == [] and net.requests == []


def test_host_not_on_allowlist_is_refused():
    net = Net(dns={"evil.test": [PUBLIC]})
    refused(net, "https://evil.test/a.png", 400, "host evil.test is not on the server's URL allowlist")
    assert net.lookups == []


def test_allowlist_exact_and_leading_dot_entries():
    dns = {h: [PUBLIC] for h in ("a.example.com", "b.a.example.com", "example.com", "badexample.com")}
    routes = {h: (lambda req: image_response()) for h in dns}
    net = Net(dns=dns, routes=routes)
    dot = [".example.com"]
    assert net.fetch("http://a.example.com/x", allowlist=dot) == PNG
    assert net.fetch("http://B.A.Example.COM./x", allowlist=dot) == PNG  # case and trailing dot
    refused(net, "http://example.com/x", 400, "not on the server's URL allowlist", allowlist=dot)
    refused(net, "http://badexample.com/x", 400, "not on the server's URL allowlist", allowlist=dot)
    refused(net, "http://b.a.example.com/x", 400, "not on the server's URL allowlist", allowlist=["a.example.com"])


# --- refused addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a private address"),  # reserved 240/4 (Python counts it private too)
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "an IPv6 form of 127.0.0.1 (a loopback address)"),
        ("::ffff:10.0.0.5", "an IPv6 form of 10.0.0.5 (a private address)"),
        ("2002:7f00:1::", "an IPv6 form of 127.0.0.1 (a loopback address)"),  # 6to4
        ("64:ff9b::a9fe:a9fe", "an IPv6 form of 169.254.169.254 (a link-local address)"),  # NAT64
    ],
)
def test_resolved_non_public_addresses_are_refused(address, what):
    net = Net(dns={HOST: [address]})
    refused(net, f"https://{HOST}/a.png", 400,
            f"host {HOST} resolves to", what, "URL input only fetches public hosts")
    assert net.requests == []  # refused before any connection


@pytest.mark.parametrize("literal", ["127.0.0.1", "10.0.0.5", "[::1]", "[::ffff:127.0.0.1]"])
def test_ip_literal_hosts_are_checked_even_when_allowlisted(literal):
    net = Net(dns={})
    host = literal.strip("[]")
    err = refused(net, f"http://{literal}/a.png", 400, f"host {host} is ", allowlist=[host])
    assert "URL input only fetches public hosts" in str(err)
    assert net.lookups == [] and net.requests == []


def test_one_private_address_among_public_ones_is_refused():
    net = Net(dns={HOST: [PUBLIC, "192.168.0.10"]})
    refused(net, f"https://{HOST}/a.png", 400, f"host {HOST} resolves to 192.168.0.10, a private address")
    assert net.requests == []


# --- redirects -------------------------------------------------------------------------------


def redirect_to(location: str, status: int = 302):
    return lambda req: httpx.Response(status, headers={"location": location})


def test_redirect_to_private_host_is_refused():
    net = Net(dns={HOST: [PUBLIC], "internal.example.com": ["10.1.2.3"]},
              routes={HOST: redirect_to("http://internal.example.com/secret")})
    refused(net, f"https://{HOST}/a.png", 400, "host internal.example.com resolves to 10.1.2.3, a private address",
            allowlist=[HOST, "internal.example.com"])
    assert len(net.requests) == 1


def test_redirect_to_metadata_ip_literal_is_refused():
    net = Net(routes={HOST: redirect_to("http://169.254.169.254/latest/meta-data/", 307)})
    refused(net, f"https://{HOST}/a.png", 400, "not on the server's URL allowlist")
    refused(net, f"https://{HOST}/a.png", 400, "host 169.254.169.254 is a link-local address",
            allowlist=[HOST, "169.254.169.254"])


def test_redirect_to_disallowed_host_or_scheme_is_refused():
    net = Net(dns={HOST: [PUBLIC], "elsewhere.test": [PUBLIC]},
              routes={HOST: redirect_to("https://elsewhere.test/a.png", 301)})
    refused(net, f"https://{HOST}/a.png", 400, "host elsewhere.test is not on the server's URL allowlist")
    net = Net(routes={HOST: redirect_to("file:///etc/passwd")})
    refused(net, f"https://{HOST}/a.png", 400, "scheme 'file' is not allowed")


def test_too_many_redirects():
    net = Net(routes={HOST: lambda req: httpx.Response(302, headers={"location": req.url.path + "x"})})
    refused(net, f"https://{HOST}/r", 502, "redirected more than 3 times")
    assert len(net.requests) == 4  # the first request + 3 followed redirects
    net.requests.clear()
    refused(net, f"https://{HOST}/r", 502, "redirected more than 0 times", max_redirects=0)
    assert len(net.requests) == 1


# --- limits and remote failures --------------------------------------------------------------


def test_announced_content_length_over_cap_is_413_before_reading():
    def route(req):
        def body():
            raise AssertionError("the body must not be read")
            yield b""  # pragma: no cover

        return httpx.Response(200, headers={"content-type": "image/png", "content-length": "5000"}, content=body())

    net = Net(routes={HOST: route})
    refused(net, f"https://{HOST}/big.png", 413, "is 5000 bytes; the limit is 1000", max_bytes=1000)


def test_streamed_body_without_length_stops_at_the_cap():
    sent: list[int] = []

    def body():
        for i in range(1000):  # 1000 x 100 bytes if nobody stops reading
            sent.append(i)
            yield b"x" * 100

    net = Net(routes={HOST: lambda req: httpx.Response(200, headers={"content-type": "image/png"}, content=body())})
    refused(net, f"https://{HOST}/big.png", 413, "over the 1000-byte limit", max_bytes=1000)
    assert "content-length" not in net.requests[0].headers
    assert len(sent) == 11  # stopped on the first chunk past the cap


def test_body_exactly_at_the_cap_is_accepted():
    net = Net(routes={HOST: lambda req: image_response(body=b"y" * 1000)})
    assert net.fetch(f"https://{HOST}/a.png", max_bytes=1000) == b"y" * 1000


def test_read_timeout_is_504():
    def route(req):
        raise httpx.ReadTimeout("timed out", request=req)

    refused(Net(routes={HOST: route}), f"https://{HOST}/a.png", 504, "took longer than 2s", timeout=2)


def test_slow_drip_body_hits_the_total_deadline():
    def body():
        for _ in range(100):
            time.sleep(0.02)
            yield b"z"

    net = Net(routes={HOST: lambda req: httpx.Response(200, headers={"content-type": "image/png"}, content=body())})
    start = time.monotonic()
    refused(net, f"https://{HOST}/a.png", 504, "took longer than 0.1s", timeout=0.1)
    assert time.monotonic() - start < 1.0


def test_connect_error_and_dns_failure_are_502():
    def route(req):
        raise httpx.ConnectError("connection refused", request=req)

    refused(Net(routes={HOST: route}), f"https://{HOST}/a.png", 502, "failed: connection refused")
    refused(Net(dns={}), f"https://{HOST}/a.png", 502, f"could not resolve host {HOST}")
    refused(Net(dns={HOST: []}), f"https://{HOST}/a.png", 502, "resolved to no address")


@pytest.mark.parametrize("status", [404, 500, 403, 304])
def test_non_2xx_final_status_is_502(status):
    net = Net(routes={HOST: lambda req: httpx.Response(status, headers={"content-type": "image/png"})})
    refused(net, f"https://{HOST}/a.png", 502, f"{HOST} answered HTTP {status}")


def test_redirect_without_location_is_502():
    net = Net(routes={HOST: lambda req: httpx.Response(302)})
    refused(net, f"https://{HOST}/a.png", 502, "answered HTTP 302")


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "text/plain", "application/json", "application/xhtml+xml"])
def test_clearly_not_image_content_type_is_refused(ctype):
    net = Net(routes={HOST: lambda req: image_response(body=b"<html></html>", ctype=ctype)})
    refused(net, f"https://{HOST}/page", 400, f"Content-Type {ctype.split(';')[0]}, not an image")


# --- URL shape -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("ftp://img.example.com/a.png", "ftp"), ("file:///etc/passwd", "file"), ("gopher://img.example.com/", "gopher")],
)
def test_only_http_and_https_schemes(url, scheme):
    net = Net()
    refused(net, url, 400, f"scheme '{scheme}' is not allowed; use an http or https URL")
    assert net.lookups == [] and net.requests == []


@pytest.mark.parametrize("userinfo", ["user:pass@", "user@", ":secret@"])
def test_credentials_in_url_are_refused(userinfo):
    net = Net()
    refused(net, f"https://{userinfo}{HOST}/a.png", 400, "credentials in the URL")
    assert net.requests == []


def test_default_resolver_uses_getaddrinfo(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kw):
        assert host == HOST
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.9.9", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UrlRefused, match="resolves to 10.9.9.9, a private address") as info:
        fetch_image_url(f"https://{HOST}/a.png", allowlist=[HOST], max_bytes=10,
                        transport=httpx.MockTransport(lambda req: image_response()))
    assert info.value.status == 400


@pytest.mark.parametrize("url", ["http://[::1/a.png", "http://img.example.com:99999/a.png"])
def test_malformed_url_is_400(url):
    refused(Net(), url, 400, "invalid URL")
