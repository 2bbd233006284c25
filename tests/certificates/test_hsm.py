"""PKCS#11 signing (issue 20 point 6) with SoftHSM2 from Debian (scripts/system-packages): a
token in a temporary folder, an EC P-256 key generated inside it, the DSC ceremony for that
key, and an EU DCC issued through the app's service, signed in the token and verified by the
ordinary verifier against the trust list."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from typer.testing import CliRunner

from tests.certificates.conftest import KEYS_MADE
from tiemchung.certificates import verify
from tiemchung.certificates.ceremony import (
    init_offline_csca,
    install_signer,
    request_signer,
    sign_signer,
)
from tiemchung.certificates.hcert import b45decode, decode_cose, inflate
from tiemchung.certificates.hsm import (
    HsmError,
    HsmKey,
    Pkcs11Config,
    close_sessions,
    raw_signature,
)
from tiemchung.certificates.keys import KeyStore
from tiemchung.certificates.service import issue_certificate
from tiemchung.cli.main import app
from tiemchung.config import Settings, get_settings
from tiemchung.core import Platform
from tiemchung.registry.scope import Actor

pkcs11 = pytest.importorskip("pkcs11")  # the [hsm] extra: in the dev group, so always here

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN, KEY, PIN = "tiemchung-test", "dsc-hsm", "5678"
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)

if not MODULE.exists():  # scripts/system-packages installs it; say so rather than pass
    pytest.fail(f"{MODULE} missing: run scripts/system-packages (softhsm2)", pytrace=False)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pkcs11Config]:
    """A SoftHSM2 token of its own (SOFTHSM2_CONF) with an EC P-256 key made inside it."""
    from pkcs11.util.ec import encode_named_curve_parameters

    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    saved = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", "1234",
         "--pin", PIN],
        check=True, capture_output=True,
    )  # fmt: skip
    pkcs11.unload(str(MODULE))  # a fresh C_Initialize reads this SOFTHSM2_CONF
    lib = pkcs11.lib(str(MODULE))
    with lib.get_token(token_label=TOKEN).open(user_pin=PIN, rw=True) as session:
        params = session.create_domain_parameters(
            pkcs11.KeyType.EC,
            {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        params.generate_keypair(store=True, label=KEY)
    pin_file = root / "pin"
    pin_file.write_text(PIN + "\n")
    yield Pkcs11Config(MODULE, TOKEN, KEY, pin_file)
    close_sessions()
    pkcs11.unload(str(MODULE))
    if saved is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = saved


def test_raw_signature_from_der_and_raw() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.sign(b"m", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    expected = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert raw_signature(der) == expected
    assert raw_signature(expected) == expected


def test_hsm_signed_certificate_verifies(
    token: Pkcs11Config, settings: Settings, platform: Platform, vaccinated: dict, tmp_path: Path
) -> None:
    hsm_settings = settings.model_copy(
        update={
            "pkcs11_module": token.module,
            "pkcs11_token_label": token.token_label,
            "pkcs11_key_label": token.key_label,
            "pkcs11_pin_file": token.pin_file,
        }
    )
    store = KeyStore.for_settings(hsm_settings)
    assert store.hsm == token
    offline = tmp_path / "offline"
    init_offline_csca(offline, None, KEYS_MADE)
    _, csr_pem = request_signer(store, "v", KEYS_MADE)  # the CSR is signed inside the token
    cert = sign_signer(offline, csr_pem, None, KEYS_MADE)
    install_signer(
        store,
        cert.public_bytes(serialization.Encoding.PEM),
        (offline / "csca.pem").read_bytes(),
        NOW,
    )
    assert not list(store.folder.glob("*-key.pem"))  # no private key on disk at all

    keys = KeyStore.for_settings(hsm_settings)
    actor = Actor.system("tests")
    issued = platform.writer.run(lambda s: issue_certificate(s, actor, "P-AN", keys=keys, now=NOW))
    cose = decode_cose(inflate(b45decode(issued.hc1.removeprefix("HC1:"))))
    assert len(cose.signature) == 64  # COSE ES256: raw r||s
    verdict = verify(issued.hc1, keys.dsc_certificates(), NOW, revoked=set())
    assert verdict.valid, verdict.reasons
    # the signature is the token's key's: it verifies against the public key read from it
    public = HsmKey(token).public_key()
    assert public.public_numbers() == cert.public_key().public_numbers()


def test_hsm_check_and_a_missing_key(token: Pkcs11Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEMCHUNG_PKCS11_MODULE", str(token.module))
    monkeypatch.setenv("TIEMCHUNG_PKCS11_TOKEN_LABEL", token.token_label)
    monkeypatch.setenv("TIEMCHUNG_PKCS11_KEY_LABEL", token.key_label)
    monkeypatch.setenv("TIEMCHUNG_PKCS11_PIN_FILE", str(token.pin_file))
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["keys", "hsm-check"])
        assert r.exit_code == 0, r.output
        assert f"token '{TOKEN}'" in r.output
        assert "secp256r1, signs and verifies" in r.output
        monkeypatch.setenv("TIEMCHUNG_PKCS11_KEY_LABEL", "no-such-key")
        get_settings.cache_clear()
        r = CliRunner().invoke(app, ["keys", "hsm-check"])
        assert r.exit_code == 1 and "'no-such-key'" in r.output
    finally:
        get_settings.cache_clear()
    with pytest.raises(HsmError, match="no single EC key"):
        HsmKey(Pkcs11Config(token.module, TOKEN, "absent", token.pin_file)).sign(b"x")
