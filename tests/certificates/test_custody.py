"""Key custody (issue 20 point 6): keys encrypted at rest, 0600, checked; the offline CSCA
ceremony through the CLI, and certificates signed and verified with the CSCA key absent."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from tests.certificates.conftest import KEYS_MADE
from tiemchung.certificates import verify
from tiemchung.certificates.ceremony import (
    CeremonyError,
    init_offline_csca,
    install_signer,
    request_signer,
    sign_signer,
)
from tiemchung.certificates.custody import KeyCustodyError, load_private
from tiemchung.certificates.keycheck import keys_status
from tiemchung.certificates.keys import CscaOfflineError, KeyStore
from tiemchung.certificates.service import issue_certificate
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Actor

runner = CliRunner()
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
# The EU DCC extended key usages, written out from the eHealth Network specification (hcert
# spec §5.1.1), not taken from the code: test, vaccination, recovery issuance.
EKU_TEST, EKU_VACC, EKU_REC = (
    "1.3.6.1.4.1.1847.2021.1.1",
    "1.3.6.1.4.1.1847.2021.1.2",
    "1.3.6.1.4.1.1847.2021.1.3",
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A server data folder for the CLI, with no passphrase configured."""
    data = tmp_path / "server"
    monkeypatch.setenv("TIEMCHUNG_DATA_DIR", str(data))
    for var in ("KEY_PASSPHRASE", "KEY_PASSPHRASE_FILE", "PKCS11_MODULE"):
        monkeypatch.delenv(f"TIEMCHUNG_{var}", raising=False)
    get_settings.cache_clear()
    yield data / "keys" / "dcc"
    get_settings.cache_clear()


def _passphrase_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "passphrase"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TIEMCHUNG_KEY_PASSPHRASE_FILE", str(path))
    get_settings.cache_clear()


def _keys(folder: Path) -> list[Path]:
    return sorted(folder.glob("*-key.pem"))


def test_keys_encrypted_with_the_file_passphrase(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _passphrase_file(tmp_path, monkeypatch, "correct horse battery\nsecond line ignored\n")
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    keys = _keys(env)
    assert len(keys) == 2  # the CSCA's and the first DSC's
    for key in keys:
        pem = key.read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        # the first line is the passphrase: openssl's own PEM reader accepts it
        serialization.load_pem_private_key(pem, password=b"correct horse battery")
        with pytest.raises(ValueError):
            serialization.load_pem_private_key(pem, password=b"second line ignored")

    # without the passphrase: a clear error naming the variable, in both languages
    monkeypatch.delenv("TIEMCHUNG_KEY_PASSPHRASE_FILE")
    with pytest.raises(KeyCustodyError) as err:
        load_private(keys[0], None)
    assert "TIEMCHUNG_KEY_PASSPHRASE_FILE" in str(err.value)
    assert "mật khẩu" in str(err.value)
    with pytest.raises(KeyCustodyError, match="wrong passphrase"):
        load_private(keys[0], b"not it")
    get_settings.cache_clear()
    r = runner.invoke(app, ["keys", "check"])
    assert r.exit_code == 1 and "TIEMCHUNG_KEY_PASSPHRASE_FILE" in r.output

    # the variable works too, when no file is named
    monkeypatch.setenv("TIEMCHUNG_KEY_PASSPHRASE", "correct horse battery")
    get_settings.cache_clear()
    assert KeyStore.for_settings(get_settings()).signer.sign(b"x")


def test_unencrypted_key_loads_warns_and_is_encrypted_in_place(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0  # an older install: no passphrase
    keys = _keys(env)
    assert all(k.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----") for k in keys)
    store = KeyStore.for_settings(get_settings())
    kid = store.signer.kid  # still signs
    states = {
        (p.state, str(k)) for p in keys_status(get_settings()) for k in keys if str(k) in p.message
    }
    assert states == {("warn", str(k)) for k in keys}
    assert runner.invoke(app, ["keys", "check"]).exit_code == 0  # warnings only
    assert runner.invoke(app, ["keys", "encrypt"]).exit_code == 2  # no passphrase yet

    _passphrase_file(tmp_path, monkeypatch, "s3cret-phrase\n")
    r = runner.invoke(app, ["keys", "encrypt"])
    assert r.exit_code == 0, r.output
    for key in keys:
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not list(env.glob("*.tmp"))
    again = KeyStore.for_settings(get_settings())
    assert again.signer.kid == kid  # the same key, now encrypted
    left = keys_status(get_settings())
    # only the advice to take the CSCA key offline remains
    assert [p.state for p in left] == ["warn"] and "CSCA" in left[0].message
    assert "nothing to encrypt" in runner.invoke(app, ["keys", "encrypt"]).output


def test_a_key_readable_by_others_is_refused(env: Path) -> None:
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    dsc_key = next(k for k in _keys(env) if k.name.startswith("dsc-"))
    dsc_key.chmod(0o640)
    with pytest.raises(KeyCustodyError, match="0640"):
        load_private(dsc_key, None)
    fails = [p for p in keys_status(get_settings()) if p.state == "fail"]
    assert len(fails) == 1 and str(dsc_key) in fails[0].message
    r = runner.invoke(app, ["keys", "check"])
    assert r.exit_code == 1 and "chmod 600" in r.output


def test_offline_ceremony_through_the_cli(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = tmp_path / "offline-csca"
    _passphrase_file(tmp_path, monkeypatch, "ceremony passphrase\n")
    r = runner.invoke(app, ["keys", "init", "--csca-offline", str(offline)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in offline.iterdir()) == ["csca-key.pem", "csca.pem"]
    assert stat.S_IMODE((offline / "csca-key.pem").stat().st_mode) == 0o600
    assert not env.exists()  # nothing on the "server" side
    assert runner.invoke(app, ["keys", "init", "--csca-offline", str(offline)]).exit_code == 2

    r = runner.invoke(
        app, ["keys", "request-signer", "--kinds", "v", "--out", str(tmp_path / "r.csr")]
    )
    assert r.exit_code == 0, r.output
    csr = x509.load_pem_x509_csr((tmp_path / "r.csr").read_bytes())
    asked = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [o.dotted_string for o in asked] == [EKU_VACC]

    r = runner.invoke(
        app, ["keys", "sign-signer", "--csca-dir", str(offline), str(tmp_path / "r.csr")]
    )
    assert r.exit_code == 0, r.output
    cert_path = tmp_path / "r.pem"
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [o.dotted_string for o in eku] == [EKU_VACC]
    csca = x509.load_pem_x509_certificate((offline / "csca.pem").read_bytes())
    assert cert.issuer == csca.subject

    # the first install brings the CSCA certificate (never its key)
    assert runner.invoke(app, ["keys", "install-signer", str(cert_path)]).exit_code == 2
    r = runner.invoke(
        app, ["keys", "install-signer", str(cert_path), "--csca", str(offline / "csca.pem")]
    )
    assert r.exit_code == 0, r.output
    assert not (env / "csca-key.pem").exists()
    store = KeyStore.for_settings(get_settings())
    assert store.signer.certificate == cert
    assert store.csca == csca
    with pytest.raises(CscaOfflineError):
        store.rotate()
    assert runner.invoke(app, ["keys", "rotate"]).exit_code == 2
    assert runner.invoke(app, ["keys", "check"]).exit_code == 0


def test_install_refuses_foreign_or_unmatched_certificates(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    init_offline_csca(ours, None, KEYS_MADE)
    init_offline_csca(theirs, None, KEYS_MADE)
    store = KeyStore.for_data_dir(tmp_path / "server")
    _, pem = request_signer(store, "vtr", KEYS_MADE)
    foreign = sign_signer(theirs, pem, None, KEYS_MADE)
    der = foreign.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(CeremonyError, match="not signed by the CSCA"):
        install_signer(store, der, (ours / "csca.pem").read_bytes(), NOW)
    # a certificate of our CSCA, but for a key this server never made
    other_store = KeyStore.for_data_dir(tmp_path / "elsewhere")
    _, other_pem = request_signer(other_store, "v", KEYS_MADE)
    stray = sign_signer(ours, other_pem, None, KEYS_MADE)
    with pytest.raises(CeremonyError, match="no private key of this server"):
        install_signer(
            store,
            stray.public_bytes(serialization.Encoding.PEM),
            (ours / "csca.pem").read_bytes(),
            NOW,
        )
    assert not store.exists()  # nothing was made current
    with pytest.raises(CeremonyError, match="no EU DCC key usage"):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        bare = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([]))
            .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
        )
        sign_signer(ours, bare.public_bytes(serialization.Encoding.PEM), None, KEYS_MADE)


def test_certificates_sign_and_verify_without_the_csca_key(
    settings: Settings, platform: Platform, vaccinated: dict, tmp_path: Path
) -> None:
    offline = tmp_path / "offline"
    init_offline_csca(offline, b"offline phrase", KEYS_MADE)
    store = KeyStore(KeyStore.for_data_dir(settings.data_dir).folder, passphrase=b"server phrase")
    _, csr = request_signer(store, "vtr", KEYS_MADE)
    cert = sign_signer(offline, csr, b"offline phrase", KEYS_MADE)
    install_signer(
        store,
        cert.public_bytes(serialization.Encoding.PEM),
        (offline / "csca.pem").read_bytes(),
        NOW,
    )
    assert not list(settings.data_dir.rglob("csca-key.pem"))
    actor = Actor.system("tests")
    issued = platform.writer.run(lambda s: issue_certificate(s, actor, "P-AN", keys=store, now=NOW))
    verdict = verify(issued.hc1, store.dsc_certificates(), NOW, revoked=set())
    assert verdict.valid, verdict.reasons
    assert verdict.dcc is not None and verdict.dcc["v"][0]["dn"] == 2
    # the trust list serves the CSCA certificate and the DSC, and chains
    trust = store.trust_list()
    assert [e["current"] for e in trust["dsc"]] == [True]
    cert.verify_directly_issued_by(store.csca)


def test_issuing_without_the_passphrase_is_a_clear_503(
    settings: Settings, platform: Platform, vaccinated: dict
) -> None:
    folder = KeyStore.for_data_dir(settings.data_dir).folder
    KeyStore(folder, passphrase=b"the right one").init(now=KEYS_MADE)
    actor = Actor.system("tests")
    with pytest.raises(ServiceError) as err:
        platform.writer.run(
            lambda s: issue_certificate(s, actor, "P-AN", keys=KeyStore(folder), now=NOW)
        )
    assert err.value.status == 503
    problem = err.value.as_problem()
    assert "TIEMCHUNG_KEY_PASSPHRASE_FILE" in json.dumps(problem, ensure_ascii=False)
    # the trust list is served without touching the private key
    assert KeyStore(folder).trust_list()["dsc"][0]["current"] is True
    issued = platform.writer.run(
        lambda s: issue_certificate(
            s, actor, "P-AN", keys=KeyStore(folder, passphrase=b"the right one"), now=NOW
        )
    )
    assert issued.hc1.startswith("HC1:")
