"""Signing credentials for C2PA: the user's certificate chain and key, or a local
development CA and signing certificate that ocula makes once under ``$OCULA_HOME/c2pa/``.

What C2PA (c2pa-rs) accepts for the signing (end-entity) certificate: X.509 v3, not
self-signed (so a CA is needed even for development), keyUsage with digitalSignature
(critical), an extendedKeyUsage (emailProtection, documentSigning or the C2PA claim-signing
OID; never anyExtendedKeyUsage), and a key matching the algorithm: ES256/384/512 for EC
P-256/384/521, PS256 for RSA, Ed25519. The development certificate is a real chain but
anyone can make one, so it proves nothing to others: verifiers say "untrusted", and ocula
says so wherever it is used.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings, get_settings
from ..errors import InvalidArgument, MissingDependency

DEV_CA_CN = "ocula local development CA (untrusted)"
DEV_SIGNER_CN = "ocula local development signer (untrusted)"
DEV_ORG = "ocula (development only)"
_DEV_DIR = "c2pa"
_DEV_FILES = ("ca.pem", "signer-chain.pem", "signer-key.pem")
_RENEW_BEFORE = dt.timedelta(days=30)

# OIDs C2PA accepts in the signing certificate's extendedKeyUsage
_EKU_OK = {"1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.36": "documentSigning",
           "1.3.6.1.4.1.311.10.3.12": "Microsoft documentSigning", "1.3.6.1.4.1.62558.2.1": "c2pa-kp-claimSigning",
           "1.3.6.1.5.5.7.3.8": "timeStamping", "1.3.6.1.5.5.7.3.9": "OCSPSigning"}
_ANY_EKU = "2.5.29.37.0"


@dataclass
class Credentials:
    chain_pem: bytes = b""
    key_pem: bytes = b""
    alg: str = "es256"
    subject: str = ""
    issuer: str = ""
    common_name: str = ""
    serial: str = ""
    not_after: str = ""
    development: bool = False


def _x509():
    try:
        from cryptography import x509
    except ImportError:  # pragma: no cover - a dependency of ocula
        raise MissingDependency("cryptography", "pip install cryptography") from None
    return x509


def _describe(chain: list, key_pem: bytes, alg: str, development: bool) -> Credentials:
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    ee = chain[0]
    cn = ee.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return Credentials(
        chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
        key_pem=key_pem, alg=alg, subject=_name(ee.subject), issuer=_name(ee.issuer),
        common_name=str(cn[0].value) if cn else "", serial=format(ee.serial_number, "x"),
        not_after=ee.not_valid_after_utc.isoformat(), development=development)


def _name(name) -> str:
    """A distinguished name as people read it: CN first (RFC 4514 strings run backwards)."""
    return ", ".join(attr.rfc4514_string() for attr in name)


def _alg_for(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in algs:
            raise InvalidArgument(f"C2PA signs with EC keys on P-256, P-384 or P-521; this key is on {key.curve.name}")
        return algs[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise InvalidArgument(f"the RSA key has {key.key_size} bits; C2PA needs at least 2048")
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise InvalidArgument(f"C2PA cannot sign with a {type(key).__name__}; use an EC P-256 key (ES256), "
                          "RSA (PS256) or Ed25519")


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.expanduser().read_bytes()
    except FileNotFoundError:
        raise InvalidArgument(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{what} {path} is a folder, not a PEM file") from None
    except OSError as e:
        raise InvalidArgument(f"{what} {path} cannot be read ({e.strerror or e})") from None
    if not data.strip():
        raise InvalidArgument(f"{what} {path} is empty")
    return data


def load_credentials(cert: str | os.PathLike, key: str | os.PathLike) -> Credentials:
    """The user's signing certificate chain (PEM, signing certificate first, then its CAs)
    and private key (PEM, unencrypted), checked against what C2PA requires."""
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = Path(cert), Path(key)
    cert_data = _read(cert_path, "certificate")
    key_data = _read(key_path, "private key")
    try:
        chain = x509.load_pem_x509_certificates(cert_data)
    except ValueError:
        hint = " (it holds a private key: swap --cert and --key)" if b"PRIVATE KEY" in cert_data else ""
        raise InvalidArgument(f"certificate {cert_path} is not a PEM certificate chain{hint}; it must start "
                              "with -----BEGIN CERTIFICATE-----") from None
    try:
        private = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise InvalidArgument(f"private key {key_path} is encrypted; give an unencrypted copy, e.g. "
                              f"`openssl pkcs8 -topk8 -nocrypt -in {key_path} -out key.pem`") from None
    except Exception as e:  # ValueError, or UnsupportedAlgorithm for exotic keys
        hint = " (it holds a certificate: swap --cert and --key)" if b"CERTIFICATE" in key_data else ""
        raise InvalidArgument(f"private key {key_path} is not a PEM private key{hint} ({type(e).__name__})") from None
    alg = _alg_for(private)
    ee = chain[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if ee.public_key().public_bytes(enc, pub) != private.public_key().public_bytes(enc, pub):
        raise InvalidArgument(f"private key {key_path} does not belong to the first certificate in {cert_path} "
                              f"({ee.subject.rfc4514_string()}); the signing certificate must come first")
    _check_profile(ee, cert_path, len(chain))
    key_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return _describe(chain, key_pem, alg, development=False)


def _check_profile(ee, path: Path, chain_len: int) -> None:
    """The C2PA rules that users most often trip over, with a message that says what to fix."""
    x509 = _x509()
    from cryptography.x509.oid import ExtensionOID

    if ee.issuer == ee.subject:
        raise InvalidArgument(f"{path}: the signing certificate is self-signed, which C2PA refuses; sign it with a "
                              "CA and pass the chain (signing certificate first), or leave out --cert/--key to "
                              "use ocula's local development certificate")
    now = dt.datetime.now(dt.timezone.utc)
    if not ee.not_valid_before_utc <= now <= ee.not_valid_after_utc:
        raise InvalidArgument(f"{path}: the signing certificate is valid only from {ee.not_valid_before_utc:%Y-%m-%d} "
                              f"to {ee.not_valid_after_utc:%Y-%m-%d}")
    try:
        ku = ee.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
        if not ku.digital_signature:
            raise x509.ExtensionNotFound("digitalSignature", ExtensionOID.KEY_USAGE)
    except x509.ExtensionNotFound:
        raise InvalidArgument(f"{path}: C2PA needs a signing certificate whose keyUsage includes "
                              "digitalSignature") from None
    try:
        eku = {o.dotted_string for o in ee.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value}
    except x509.ExtensionNotFound:
        eku = set()
    if not eku & set(_EKU_OK) or _ANY_EKU in eku:
        raise InvalidArgument(f"{path}: C2PA needs an extendedKeyUsage of emailProtection, documentSigning or "
                              "c2pa-kp-claimSigning (1.3.6.1.4.1.62558.2.1) in the signing certificate, and "
                              "not anyExtendedKeyUsage")
    if chain_len < 2:
        # not fatal: a verifier that has the CA can still build the chain
        pass


def development_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home.expanduser() / _DEV_DIR


def development_credentials(settings: Settings | None = None) -> Credentials:
    """ocula's local development chain, made on first use (and again near expiry)."""
    folder = development_dir(settings)
    creds = _load_dev(folder)
    if creds is not None:
        return creds
    _make_dev(folder)
    creds = _load_dev(folder)
    if creds is None:  # pragma: no cover - only when the folder is unwritable mid-way
        raise InvalidArgument(f"could not create the development certificate in {folder}")
    return creds


def _load_dev(folder: Path) -> Credentials | None:
    if not all((folder / f).is_file() for f in _DEV_FILES):
        return None
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization

    try:
        chain = x509.load_pem_x509_certificates((folder / "signer-chain.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / "signer-key.pem").read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None  # damaged: make a new one
    if chain[0].not_valid_after_utc - dt.datetime.now(dt.timezone.utc) < _RENEW_BEFORE:
        return None
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return _describe(chain, key_pem, "es256", development=True)


def _make_dev(folder: Path) -> None:
    """Write a CA and a signing certificate, all files at once (a temp folder renamed into
    place), so two processes starting together never see half a set."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEV_CA_CN),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORG)])
    no_usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **no_usage),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEV_SIGNER_CN),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORG)])
    ee = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + dt.timedelta(days=730))
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **no_usage),
                         critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".c2pa-"))
    try:
        (tmp / "ca.pem").write_bytes(ca.public_bytes(pem))
        (tmp / "signer-chain.pem").write_bytes(ee.public_bytes(pem) + ca.public_bytes(pem))
        kpath = tmp / "signer-key.pem"
        kpath.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        os.chmod(kpath, 0o600)
        (tmp / "README.txt").write_text(
            "ocula's local development certificate for C2PA signing.\n"
            "Made on this machine; trusted by nobody. Files signed with it verify as 'valid' but\n"
            "'untrusted'. For credentials others can trust, get a certificate from a CA and pass\n"
            "--cert CHAIN.pem --key KEY.pem. To trust these files on this machine only, copy ca.pem\n"
            "into trust-anchors.pem here (then `ocula verify` says 'trusted').\n", encoding="utf-8")
        # the CA key is not kept: nothing else is ever issued from it
        if folder.exists():
            old = folder.with_name(f".c2pa-old-{os.getpid()}")
            keep = folder / "trust-anchors.pem"
            if keep.is_file():
                shutil.copy2(keep, tmp / "trust-anchors.pem")
            os.replace(folder, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if _load_dev(folder) is None:  # another process may have won the race
            raise


def credentials(cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None,
                settings: Settings | None = None) -> Credentials:
    """The user's credentials when both are given (or OCULA_C2PA_CERT and OCULA_C2PA_KEY are
    set), else the development ones."""
    if cert is None and key is None:
        cert = os.environ.get("OCULA_C2PA_CERT") or None
        key = os.environ.get("OCULA_C2PA_KEY") or None
        if (cert is None) != (key is None):
            raise InvalidArgument("OCULA_C2PA_CERT and OCULA_C2PA_KEY go together: set both, or neither")
    if (cert is None) != (key is None):
        missing = "--key (its private key)" if key is None else "--cert (its certificate chain)"
        raise InvalidArgument(f"--cert and --key go together: also give {missing}, or neither to sign with "
                              "ocula's local development certificate")
    if cert is not None and key is not None:
        return load_credentials(cert, key)
    return development_credentials(settings)


def trust_anchors_file(settings: Settings | None = None) -> Path:
    """PEM root certificates the user trusts; verify reports 'trusted' for chains ending there."""
    return development_dir(settings) / "trust-anchors.pem"
