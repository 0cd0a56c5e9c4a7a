"""Fetch an image from a URL for `{"image_url": ...}` requests, without becoming an SSRF hole.

Only used when the server enables URL input. Every hop (the first URL and each redirect) is
checked for scheme, credentials, allowlist and the addresses its host resolves to; the request
then goes to the vetted IP itself (Host header and TLS SNI keep the name), so a DNS answer that
changes between the check and the connect (rebinding) cannot reach an internal address.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable

import httpx

from ..version import __version__
from ocula.errors import OculaError

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECTS = {301, 302, 303, 307, 308}
# Top-level types and subtype endings that are certainly not an image; anything else is left to
# the image decoder (servers often say application/octet-stream or nothing at all).
_NOT_IMAGE_TYPES = {"text", "audio", "video", "font", "multipart", "message", "model"}
_NOT_IMAGE_SUFFIXES = ("html", "xml", "json", "javascript", "ecmascript", "pdf", "zip")


class UrlRefused(OculaError):
    """An image URL that was refused or could not be fetched; `.status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400):
        self.status = status
        super().__init__(message)


def _default_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _allowed(host: str, allowlist: list[str]) -> bool:
    for entry in allowlist:
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith(".") and host.endswith(entry) and len(host) > len(entry):
            return True  # ".example.com" allows a.example.com (not the bare apex)
        if host == entry:
            return True
    return False


def _address_problem(ip: IPAddress) -> str | None:
    """Why `ip` must not be fetched from, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address: judge the embedded one too.
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64 well-known prefix
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for inner in filter(None, embedded):
            problem = _address_problem(inner)
            if problem:
                return f"an IPv6 form of {inner} ({problem})"
    for flag, what in (
        ("is_unspecified", "an unspecified"),
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, flag):
            return f"{what} address"
    return None if ip.is_global else "not a public address"


def _vet(url: httpx.URL, allowlist: list[str], resolver: Resolver) -> tuple[str, IPAddress]:
    """Check one hop's URL; return its normalized host name and the address to connect to."""
    if url.scheme not in ("http", "https"):
        raise UrlRefused(f"scheme {url.scheme or '(none)'!r} is not allowed; use an http or https URL")
    if url.userinfo:
        raise UrlRefused("credentials in the URL (user:password@) are not allowed; use a public URL")
    host = url.raw_host.decode("ascii").lower().rstrip(".")
    if not host or not 0 < (url.port or 80) < 65536:
        raise UrlRefused(f"invalid URL {url}: it needs a host name and a port from 1 to 65535")
    if not _allowed(host, allowlist):
        why = "the allowlist is empty" if not allowlist else f"allowed: {', '.join(allowlist)}"
        raise UrlRefused(f"host {host} is not on the server's URL allowlist ({why})")
    literal = True
    try:
        addresses = [ipaddress.ip_address(host)]  # an IP literal is checked as is
    except ValueError:
        literal = False
        try:
            addresses = [ipaddress.ip_address(a) for a in resolver(host)]
        except (OSError, ValueError) as exc:
            raise UrlRefused(f"could not resolve host {host}: {exc}", 502) from exc
    if not addresses:
        raise UrlRefused(f"host {host} resolved to no address", 502)
    for ip in addresses:  # every answer: one bad address is enough to refuse
        problem = _address_problem(ip)
        if problem:
            where = f"host {host} is" if literal else f"host {host} resolves to {ip},"
            raise UrlRefused(f"{where} {problem}; URL input only fetches public hosts")
    return host, addresses[0]


def _check_content_type(value: str, host: str) -> None:
    ctype = value.split(";", 1)[0].strip().lower()
    main, _, sub = ctype.partition("/")
    if main != "image" and (main in _NOT_IMAGE_TYPES or sub.endswith(_NOT_IMAGE_SUFFIXES)):
        raise UrlRefused(f"{host} answered with Content-Type {ctype}, not an image; give the URL of the image file itself")


def fetch_image_url(
    url: str,
    *,
    allowlist: list[str],
    max_bytes: int,
    timeout: float = 10.0,
    max_redirects: int = 3,
    resolver: Resolver | None = None,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """GET `url` and return the body bytes, or raise UrlRefused with the status to answer."""
    resolver = resolver or _default_resolver
    deadline = time.monotonic() + timeout  # one budget for all hops and the whole body
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UrlRefused(f"invalid URL {url!r}: {exc}") from exc
    # trust_env=False: no proxy or .netrc from the environment may reroute or add credentials.
    with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
        for hop in range(max_redirects + 1):
            host, ip = _vet(current, allowlist, resolver)
            netloc = f"[{host}]" if ":" in host else host  # IPv6 literals need brackets
            headers = {
                "Host": f"{netloc}:{current.port}" if current.port else netloc,
                "User-Agent": f"ocula/{__version__}",
                "Accept": "image/*",
                "Accept-Encoding": "identity",
                "Connection": "close",  # never reuse a connection for another host name
            }
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise httpx.TimeoutException("deadline passed")
                with client.stream(
                    "GET",
                    current.copy_with(host=str(ip)),  # connect to the vetted IP, not a fresh lookup
                    headers=headers,
                    timeout=httpx.Timeout(remaining),
                    extensions={"sni_hostname": host},  # TLS: SNI and certificate check use the name
                ) as resp:
                    if resp.status_code in _REDIRECTS and "location" in resp.headers:
                        if hop == max_redirects:
                            raise UrlRefused(f"{url} redirected more than {max_redirects} times", 502)
                        current = current.join(resp.headers["location"])
                        continue
                    if not 200 <= resp.status_code < 300:
                        raise UrlRefused(f"{host} answered HTTP {resp.status_code} for {current}", 502)
                    _check_content_type(resp.headers.get("content-type", ""), host)
                    length = resp.headers.get("content-length", "")
                    if length.isdigit() and int(length) > max_bytes:
                        raise UrlRefused(f"image at {current} is {int(length)} bytes; the limit is {max_bytes}", 413)
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:  # stop reading at once, whatever was announced
                            raise UrlRefused(f"image at {current} is over the {max_bytes}-byte limit", 413)
                        if time.monotonic() > deadline:
                            raise httpx.TimeoutException("deadline passed")
                    return bytes(body)
            except httpx.TimeoutException as exc:
                raise UrlRefused(f"fetching {current} took longer than {timeout:g}s", 504) from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise UrlRefused(f"fetching {current} failed: {exc}", 502) from exc
    raise AssertionError("unreachable")  # the loop returns or raises
