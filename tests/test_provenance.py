"""C2PA content credentials: sign, verify, tamper, certificates, mark_output, CLI.

Real signing with c2pa-python on the sample photos; certificates made with `cryptography`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocula.errors import InvalidArgument
from ocula.provenance import certs, mark_output
from ocula.tasks.sign import sign
from ocula.tasks.verify import verify
from ocula.cli.render import render

OCULA = Path(sys.executable).parent / "ocula"


# --- helpers --------------------------------------------------------------------------

def _png_pixel_byte(data: bytes) -> int:
    """Offset of a byte in the middle of the first IDAT chunk's data."""
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            return pos + 8 + length // 2
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


def _fix_png_crc(data: bytearray, offset: int) -> None:
    """Recompute the CRC of the chunk holding ``offset`` (a careful forger would)."""
    pos = 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if pos + 8 <= offset < pos + 8 + length:
            crc = zlib.crc32(bytes(data[pos + 4:pos + 8 + length])) & 0xFFFFFFFF
            data[pos + 8 + length:pos + 12 + length] = struct.pack(">I", crc)
            return
        pos += 12 + length


def _jpeg_scan_byte(data: bytes) -> int:
    """Offset of a byte in the middle of the entropy-coded scan, found by walking the markers
    (a search for FFDA could hit the manifest's bytes)."""
    assert data[:2] == b"\xff\xd8"
    pos = 2
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:
            start = pos + 2 + length
            break
        pos += 2 + length
    end = data.rindex(b"\xff\xd9")
    i = (start + end) // 2
    while data[i] in (0xFF, 0xFE) or data[i - 1] == 0xFF:
        i += 1
    return i


def _flip(path: Path, fix_crc: bool = False) -> None:
    data = bytearray(path.read_bytes())
    if data[:4] == b"\x89PNG":
        i = _png_pixel_byte(bytes(data))
        data[i] ^= 0x01
        if fix_crc:
            _fix_png_crc(data, i)
    else:
        i = _jpeg_scan_byte(bytes(data))
        data[i] ^= 0x01
    path.write_bytes(bytes(data))


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                        "Test Newsroom")])


def _make_chain(folder: Path, *, self_signed: bool = False, eku: bool = True, encrypt: bool = False,
                digital_signature: bool = True) -> tuple[Path, Path, Path]:
    """A CA and a signing certificate as a newsroom's PKI would issue them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    ku = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
              encipher_only=False, decipher_only=False)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test Root CA")).issuer_name(_name("Test Root CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **ku), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder().subject_name(_name("Photo Desk Signer"))
         .issuer_name(_name("Photo Desk Signer") if self_signed else _name("Test Root CA"))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
         .add_extension(x509.KeyUsage(digital_signature=digital_signature, key_cert_sign=False, crl_sign=False, **ku),
                        critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    ee = b.sign(key if self_signed else ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    chain = folder / "chain.pem"
    chain.write_bytes(ee.public_bytes(pem) + (b"" if self_signed else ca.public_bytes(pem)))
    enc = serialization.BestAvailableEncryption(b"secret") if encrypt else serialization.NoEncryption()
    key_path = folder / "key.pem"
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, enc))
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(pem))
    return chain, key_path, ca_path


@pytest.fixture()
def big_png(tmp_path, samples) -> Path:
    """A stand-in for an upscaled output."""
    p = tmp_path / "big.png"
    Image.open(samples / "chelsea.jpg").resize((902, 600), Image.Resampling.BICUBIC).save(p)
    return p


# --- sign and verify ------------------------------------------------------------------

def test_signed_file_verifies_with_action_signer_and_ingredient(big_png, samples, tmp_path):
    out = tmp_path / "signed.png"
    r = sign(big_png, output=out, actions=["upscaled"], parent=samples / "chelsea.jpg")
    assert r.output == str(out) and r.format == "image/png"
    assert r.signer.development and "untrusted" in (r.signer.common_name or "")
    assert any("development certificate" in line for line in render(r))

    v = verify(out)
    m = v.manifest
    assert v.ok and m.state == "valid"
    assert "c2pa.opened" in m.action_names and "c2pa.resized" in m.action_names
    resized = next(a for a in m.actions if a.action == "c2pa.resized")
    assert resized.ocula_action == "upscaled" and resized.software_agent.startswith("ocula")
    assert m.signer is not None and m.signer.development
    assert m.signer.subject.startswith("CN=ocula local development signer")
    assert "development CA" in m.signer.issuer
    assert [(i.title, i.relationship) for i in m.ingredients] == [("chelsea.jpg", "parentOf")]
    assert not m.generated and m.failures == []
    assert any("trust anchor" in w for w in m.warnings)  # valid, but says it proves nothing
    # pixels untouched, input untouched
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(big_png)))


def test_ingredient_title_is_a_file_name_not_a_path(big_png, samples, tmp_path):
    out = tmp_path / "signed.png"
    sign(big_png, output=out, actions=["edited"], parent=samples / "chelsea.jpg")
    assert str(samples).encode() not in out.read_bytes()  # no folder names leak into the file


@pytest.mark.parametrize("suffix,fix_crc", [(".png", False), (".png", True), (".jpg", False)])
def test_flipped_pixel_byte_makes_verify_invalid(tmp_path, samples, suffix, fix_crc):
    """One byte of pixel data changed after signing. A PNG whose chunk CRC no longer holds does
    not even decode: verify must still say invalid, from the manifest alone."""
    src = tmp_path / f"in{suffix}"
    Image.open(samples / "coffee.jpg").save(src, quality=90)
    out = tmp_path / f"signed{suffix}"
    sign(src, output=out, actions=["edited"])
    assert verify(out).manifest.state == "valid"
    _flip(out, fix_crc=fix_crc)
    v = verify(out)
    assert not v.ok and v.manifest.state == "invalid"
    assert "assertion.dataHash.mismatch" in [f.code for f in v.manifest.failures]
    assert any("FAILED" in line for line in render(v))


def test_trusted_only_with_a_trust_anchor_the_user_gives(big_png, tmp_path):
    chain, key, ca = _make_chain(tmp_path)
    out = tmp_path / "signed.png"
    r = sign(big_png, output=out, actions=["denoised"], cert=chain, key=key)
    assert not r.signer.development and r.signer.subject == "CN=Photo Desk Signer, O=Test Newsroom"
    assert verify(out).manifest.state == "valid"
    v = verify(out, trust=[ca])
    assert v.manifest.state == "trusted" and v.ok and v.manifest.warnings == []
    assert v.manifest.signer.issuer == "CN=Test Root CA, O=Test Newsroom"
    # an anchor that is not the signer's root does not make it trusted
    other = certs.development_dir() / "ca.pem"
    assert verify(out, trust=[other]).manifest.state == "valid"


def test_generated_image_declares_trained_algorithmic_media(big_png, tmp_path):
    out = tmp_path / "gen.png"
    r = sign(big_png, output=out, actions=["generated"])
    assert r.generated and r.ingredient is None
    m = verify(out).manifest
    assert m.state == "valid" and m.generated and m.ingredients == []
    first = m.actions[0]
    assert first.action == "c2pa.created"
    assert first.digital_source_type == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def test_unsigned_photo_has_no_manifest(samples):
    v = verify(samples / "grace_hopper.jpg")
    assert v.ok and v.manifest.state == "none" and v.manifest.signer is None
    assert v.watermark is not None and not v.watermark.found
    assert v.metadata is not None


def test_resigning_keeps_the_history_as_an_ingredient(big_png, tmp_path):
    first = tmp_path / "first.png"
    sign(big_png, output=first, actions=["upscaled"])
    second = tmp_path / "second.png"
    sign(first, output=second, actions=["restored"])
    m = verify(second).manifest
    assert m.state == "valid" and m.manifests == 2
    assert m.ingredients[0].has_manifest and m.ingredients[0].title == "first.png"


# --- bad inputs -----------------------------------------------------------------------

def test_cert_without_key_and_key_without_cert(big_png, tmp_path):
    chain, key, _ = _make_chain(tmp_path)
    with pytest.raises(InvalidArgument, match="--cert and --key go together.*--key"):
        sign(big_png, output=tmp_path / "o.png", cert=chain)
    with pytest.raises(InvalidArgument, match="--cert and --key go together.*--cert"):
        sign(big_png, output=tmp_path / "o.png", key=key)
    assert not (tmp_path / "o.png").exists()


def test_unreadable_and_wrong_keys(big_png, tmp_path):
    chain, key, _ = _make_chain(tmp_path)
    out = tmp_path / "o.png"
    with pytest.raises(InvalidArgument, match="does not exist"):
        sign(big_png, output=out, cert=chain, key=tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    with pytest.raises(InvalidArgument, match="not a PEM private key"):
        sign(big_png, output=out, cert=chain, key=garbage)
    with pytest.raises(InvalidArgument, match="swap --cert and --key"):
        sign(big_png, output=out, cert=key, key=chain)
    with pytest.raises(InvalidArgument, match="is a folder"):
        sign(big_png, output=out, cert=chain, key=tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key, _ = _make_chain(other)
    with pytest.raises(InvalidArgument, match="does not belong to the first certificate"):
        sign(big_png, output=out, cert=chain, key=other_key)
    enc = tmp_path / "enc"
    enc.mkdir()
    echain, ekey, _ = _make_chain(enc, encrypt=True)
    with pytest.raises(InvalidArgument, match="encrypted.*openssl pkcs8"):
        sign(big_png, output=out, cert=echain, key=ekey)
    assert not out.exists()


def test_certificates_c2pa_refuses_are_explained(big_png, tmp_path):
    cases = {"self": dict(self_signed=True), "noeku": dict(eku=False), "noku": dict(digital_signature=False)}
    messages = {"self": "self-signed", "noeku": "extendedKeyUsage", "noku": "digitalSignature"}
    for name, kw in cases.items():
        d = tmp_path / name
        d.mkdir()
        chain, key, _ = _make_chain(d, **kw)
        with pytest.raises(InvalidArgument, match=messages[name]):
            sign(big_png, output=tmp_path / f"{name}.png", cert=chain, key=key)


def test_formats_c2pa_cannot_hold_are_refused(tmp_path, samples):
    bmp = tmp_path / "photo.bmp"
    Image.open(samples / "coffee.jpg").save(bmp)
    with pytest.raises(InvalidArgument, match="BMP.*convert it"):
        sign(bmp, output=tmp_path / "signed.bmp")
    with pytest.raises(InvalidArgument, match="unknown action 'sharpened'.*upscaled"):
        sign(samples / "coffee.jpg", output=tmp_path / "o.jpg", actions=["sharpened"])
    with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
        sign(samples / "coffee.jpg", output=samples / "coffee.jpg")
    with pytest.raises(InvalidArgument, match="needs a watermark"):
        sign(samples / "coffee.jpg", output=tmp_path / "o.jpg", actions=["watermarked"])


def test_gif_can_be_signed(tmp_path, samples):
    gif = tmp_path / "anim.gif"
    Image.open(samples / "coffee.jpg").convert("P").save(gif)
    out = tmp_path / "signed.gif"
    sign(gif, output=out, actions=["converted"])
    assert verify(out).manifest.state == "valid"


# --- mark_output: what upscale --sign --watermark calls -------------------------------

@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_mark_output_watermarks_then_signs(tmp_path, samples, suffix):
    src = samples / "astronaut.jpg"
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / f"restored{suffix}"
    Image.open(src).save(out, quality=95)  # the file a command just wrote
    rep = mark_output(out, actions=["restore"], sign=True, watermark="ocula", ingredient=src)
    assert rep.watermarked and rep.watermark_verified and rep.signed and rep.development_certificate
    assert rep.actions == ["c2pa.color_adjustments", "c2pa.watermarked"]
    v = verify(out)
    assert v.ok and v.manifest.state == "valid"
    assert v.watermark.found and v.watermark.payload == "ocula"
    assert v.manifest.soft_binding and v.manifest.soft_binding.endswith(v.watermark.word)
    assert any("the content credentials declare" in n for n in v.notes)
    assert [i.title for i in v.manifest.ingredients] == ["astronaut.jpg"]
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before  # the input is never touched


def test_mark_output_sign_only_and_refuses_the_input(tmp_path, samples, big_png):
    rep = mark_output(big_png, actions=["upscaled"], sign=True, ingredient=samples / "chelsea.jpg")
    assert rep.signed and not rep.watermarked and rep.actions == ["c2pa.resized"]
    assert verify(big_png, watermark=False).manifest.state == "valid"
    with pytest.raises(InvalidArgument, match="input file"):
        mark_output(big_png, actions=["edited"], sign=True, ingredient=big_png)
    with pytest.raises(InvalidArgument, match="unknown action"):
        mark_output(big_png, actions=["teleported"], sign=True)


def test_development_certificate_is_made_once(tmp_path):
    from ocula.config import load_settings

    settings = load_settings(env={"OCULA_HOME": str(tmp_path / "home")})
    a = certs.development_credentials(settings)
    b = certs.development_credentials(settings)
    assert a.chain_pem == b.chain_pem and a.development
    assert (tmp_path / "home" / "c2pa" / "signer-key.pem").stat().st_mode & 0o077 == 0
    assert "untrusted" in a.subject and "untrusted" in a.issuer


# --- the command line -----------------------------------------------------------------

def _ocula(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OCULA), *args], capture_output=True, text=True, timeout=120)


def test_cli_sign_verify_flip(tmp_path, samples):
    small = tmp_path / "small_cat.png"
    Image.open(samples / "chelsea.jpg").save(small)
    signed = tmp_path / "signed.png"
    r = _ocula("sign", str(small), "-o", str(signed), "--action", "upscaled")
    assert r.returncode == 0, r.stderr
    assert "untrusted" in r.stdout
    r = _ocula("verify", str(signed), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["manifest"]["state"] == "valid"
    assert "upscaled" in [a["ocula_action"] for a in doc["manifest"]["actions"]]
    _flip(signed, fix_crc=True)
    r = _ocula("verify", str(signed))
    assert r.returncode == 1
    assert "content credentials: invalid" in r.stdout and "dataHash.mismatch" in r.stdout
    r = _ocula("sign", str(small), "-o", str(tmp_path / "x.png"), "--cert", str(small))
    assert r.returncode == 1 and "--cert and --key go together" in r.stderr
    assert "Traceback" not in r.stderr


def test_precheck_fails_before_the_work(tmp_path):
    from ocula.provenance import precheck

    precheck(tmp_path / "o.png", size=(1024, 768), actions=["upscaled"], sign=True, watermark="ocula")
    with pytest.raises(InvalidArgument, match="unknown action"):
        precheck(tmp_path / "o.png", size=None, actions=["warped"], sign=True)
    with pytest.raises(InvalidArgument, match="BMP"):
        precheck(tmp_path / "o.bmp", size=None, actions=["edited"], sign=True)
    with pytest.raises(InvalidArgument, match="256 colours"):
        precheck(tmp_path / "o.gif", size=(512, 512), actions=[], watermark="x")
    with pytest.raises(InvalidArgument, match="at least 65536 pixels"):
        precheck(tmp_path / "o.png", size=(200, 100), actions=[], watermark="x")
    with pytest.raises(InvalidArgument, match="non-empty"):
        precheck(tmp_path / "o.png", size=(512, 512), actions=[], watermark="")


def test_sign_reads_the_actions_an_ocula_command_recorded(tmp_path, samples):
    from ocula.provenance import software_tag

    tag = software_tag(["upscale", "denoise"])
    assert tag.startswith("ocula ") and tag.endswith("(upscaled, denoised)")
    src = tmp_path / "big.png"
    ex = Image.Exif()
    ex[0x0131] = tag
    Image.open(samples / "chelsea.jpg").save(src, exif=ex.tobytes())
    out = tmp_path / "signed.png"
    r = sign(src, output=out)  # no actions given: the file says what was done
    assert [a.ocula_action for a in r.actions] == ["upscaled", "denoised"]
    assert any("EXIF Software" in n for n in r.notes)
    assert [a.action for a in verify(out).manifest.actions] == ["c2pa.opened", "c2pa.resized", "c2pa.filtered"]
    assert sign(src, output=tmp_path / "none.png", actions=[]).actions == []
