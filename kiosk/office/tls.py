"""The office's own small certificate authority, so gates reach it over HTTPS without a public CA.

``init_tls`` makes a CA (10 years) and a server certificate for the office's
host names and addresses (2 years), signed by that CA. Gates trust exactly
this CA: its certificate travels in their provisioning files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.exc import KioskError


class TLSSetupError(KioskError, ValueError):
    """The certificates could not be made (bad host name, files already there)."""


@dataclass(frozen=True)
class TLSFiles:
    """Where init_tls put the CA certificate, the server certificate and its key."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        host = host.strip()
        if not host:
            continue
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if not all(part.replace("-", "").isalnum() for part in host.split(".")):
                raise TLSSetupError(f"{host!r} is neither an IP address nor a host name") from None
            names.append(x509.DNSName(host))
    if not names:
        raise TLSSetupError("give at least one host name or address the gates use to reach the office")
    return names


def init_tls(directory: str | Path, hosts: list[str], *, community: str = "kiosk office",
             now: dt.datetime | None = None) -> TLSFiles:
    """Create the CA and the server certificate in ``directory``; refuses to overwrite existing files."""
    directory = Path(directory)
    files = TLSFiles(directory / "ca.pem", directory / "ca-key.pem", directory / "server.pem", directory / "server-key.pem")
    existing = [p.name for p in vars(files).values() if p.exists()]
    if existing:
        raise TLSSetupError(f"{directory}: {', '.join(existing)} already exist; refusing to overwrite")
    names = _names(hosts)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{community} CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0].strip())]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(files.ca_key, _key_pem(ca_key), 0o600)
    _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.server_key, _key_pem(server_key), 0o600)
    _write(files.server_cert, server_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return files
