"""The remote register's credentials other than a bearer: HTTP basic, and mTLS (a client
certificate and the register's CA) against the fake server served over TLS on 127.0.0.1.
The certificates are made here, for the test only."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.registry.register_fakes import hoa, write_register
from tiemchung.gateways.register_fake import FakeRegister, FakeRegisterServer
from tiemchung.gateways.register_http import HttpRegister
from tiemchung.registry.people.register_source import RegisterUnavailable


def _issue(
    folder: Path,
    name: str,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> tuple[x509.Name, ec.EllipticCurvePrivateKey, Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))])
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return subject, key, cert_path, key_path


def test_basic_credentials_are_sent(tmp_path: Path) -> None:
    source = write_register(tmp_path / "register.parquet", [hoa()])
    with FakeRegisterServer(FakeRegister(source, basic="tiemchung:pa55")) as server:
        ok = HttpRegister(server.url, basic="tiemchung:pa55").by_id("079190000111")
        with pytest.raises(RegisterUnavailable, match="HTTP 401"):
            HttpRegister(server.url, basic="tiemchung:wrong").by_id("079190000111")
    assert [p.person_id for p in ok] == ["R-HOA"]


def test_mtls_with_the_registers_ca_and_a_client_certificate(tmp_path: Path) -> None:
    ca_name, ca_key, ca_crt, _ = _issue(tmp_path, "ca", None, ca=True)
    _, _, server_crt, server_key = _issue(tmp_path, "register", (ca_name, ca_key), ip="127.0.0.1")
    _, _, client_crt, client_key = _issue(tmp_path, "tiemchung", (ca_name, ca_key))
    source = write_register(tmp_path / "register.parquet", [hoa()])
    tls = {
        "ssl_certfile": str(server_crt),
        "ssl_keyfile": str(server_key),
        "ssl_ca_certs": str(ca_crt),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }
    with FakeRegisterServer(FakeRegister(source), **tls) as server:
        assert server.url.startswith("https://")
        found = HttpRegister(
            server.url, client_cert=str(client_crt), client_key=str(client_key), ca=str(ca_crt)
        ).by_id("079190000111")
        with pytest.raises(RegisterUnavailable):  # no client certificate: the handshake fails
            HttpRegister(server.url, ca=str(ca_crt), retries=0).by_id("079190000111")
        with pytest.raises(RegisterUnavailable, match="ConnectError"):  # an unknown CA
            HttpRegister(server.url, client_cert=str(client_crt), client_key=str(client_key)).by_id(
                "079190000111"
            )
    assert [p.person_id for p in found] == ["R-HOA"]
