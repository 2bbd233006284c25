"""Codec, verifier, keys, UVCI, names and font: real keys and real crypto, no database.

Expected values come from outside the code under test: the EU DCC schema examples and test
vectors, the Luhn mod N reference, ICAO 9303 rules applied by hand, and an independent
cryptography check of the signature.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.certificates.samples import DCC
from tiemchung.certificates import STEPS, Trust, hcert, verify, verify_image
from tiemchung.certificates.keys import (
    EKU_RECOVERY,
    EKU_TEST,
    EKU_VACCINATION,
    KeyStore,
    dcc_usages,
    load_certificate,
)
from tiemchung.certificates.names import dcc_name, icao
from tiemchung.certificates.pdf import font_path, qr_png
from tiemchung.certificates.schema import reference_validator, schema_errors, validator
from tiemchung.certificates.uvci import check_character, is_valid, new_uvci
from tiemchung.identity import VIETNAMESE_LETTERS

SCHEMA_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "eu-dcc"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore.for_data_dir(tmp_path_factory.mktemp("data"))
    store.init(now=NOW - timedelta(days=30))
    return store


def _signed(keys: KeyStore, dcc: dict | None = None, *, iat: datetime = NOW) -> str:
    payload = hcert.cwt_payload(
        dcc or DCC,
        issuer="VN",
        iat=int(iat.timestamp()),
        exp=int((iat + timedelta(days=365)).timestamp()),
    )
    return hcert.encode(keys.signer.sign(payload))


# -- UVCI -----------------------------------------------------------------------------------
def test_luhn_mod_n_matches_published_uvcis() -> None:
    # The DCC schema's own example and an Austrian test vector carry their check characters.
    assert check_character("URN:UVCI:01:NL:DADFCC47C7334E45A906DB12FD859FB7") == "1"
    assert check_character("URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813") == "B"
    assert is_valid("URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B")
    assert not is_valid("URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#C")
    assert not is_valid("URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD812#B")  # one digit off
    assert not is_valid("no check character")


def test_luhn_mod_n_by_hand() -> None:
    # Code points A=0..Z=25, 0=26..9=35, '/'=36, ':'=37 (N = 38). For "AB": from the right,
    # B (1) × 2 = 2 → 2; A (0) × 1 = 0; sum 2; check = (38 − 2) mod 38 = 36 → "/".
    assert check_character("AB") == "/"
    # "Z9": 9 (35) × 2 = 70 = 1·38 + 32 → 1 + 32 = 33; Z (25) × 1 = 25; sum 58 mod 38 = 20;
    # check = 38 − 20 = 18 → "S".
    assert check_character("Z9") == "S"


def test_new_uvci_format() -> None:
    seen = {new_uvci() for _ in range(200)}
    assert len(seen) == 200
    for u in seen:
        assert u.startswith("URN:UVCI:01:VN:") and is_valid(u) and len(u) <= 80


# -- names ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Nguyễn Văn An", {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"}),
        (
            "đặng thị ánh tuyết",
            {"fn": "Đặng", "fnt": "DANG", "gn": "Thị Ánh Tuyết", "gnt": "THI<ANH<TUYET"},
        ),
        ("Tôn Thất Thuyết", {"fn": "Tôn Thất", "fnt": "TON<THAT", "gn": "Thuyết", "gnt": "THUYET"}),
        ("Ân", {"gn": "Ân", "gnt": "AN"}),
    ],
)
def test_dcc_name(full: str, expected: dict) -> None:
    assert dcc_name(full) == expected


def test_icao_rules() -> None:
    assert icao("Nguyễn Văn") == "NGUYEN<VAN"
    assert icao("Đỗ-Lê") == "DO<LE"
    assert icao("H'Hen") == "HHEN"
    assert icao("Müller Ærø") == "MUELLER<AEROE"  # ICAO 9303 Part 3 multi-letter forms
    assert icao("  ") == ""


# -- schema ---------------------------------------------------------------------------------
def test_schema_inlined_equals_registry_resolution() -> None:
    examples = [DCC, {"ver": "1.3.3"}, {**DCC, "dob": "85"}, {**DCC, "t": DCC["v"]}]
    for doc in examples:
        assert validator().is_valid(doc) == reference_validator().is_valid(doc)
    assert schema_errors(DCC) == []
    assert schema_errors({**DCC, "dob": "12/04/1985"})


# -- keys -----------------------------------------------------------------------------------
def test_keys_files_and_extensions(keys: KeyStore) -> None:
    folder = keys.folder
    for key_file in folder.glob("*-key.pem"):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    csca, dsc = keys.csca, keys.signer.certificate
    assert csca.subject == csca.issuer
    assert csca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert dsc.issuer == csca.subject
    csca.public_key().verify(  # the DSC is really signed by the CSCA
        dsc.signature, dsc.tbs_certificate_bytes, ec.ECDSA(dsc.signature_hash_algorithm)
    )
    eku = {
        o.dotted_string for o in dsc.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    }
    assert eku == {
        "1.3.6.1.4.1.1847.2021.1.1",
        "1.3.6.1.4.1.1847.2021.1.2",
        "1.3.6.1.4.1.1847.2021.1.3",
    }
    assert isinstance(keys.signer.private_key.curve, ec.SECP256R1)
    with pytest.raises(FileExistsError):
        keys.init()


def test_trust_list_and_rotation(tmp_path: Path) -> None:
    store = KeyStore.for_data_dir(tmp_path)
    store.init(now=NOW - timedelta(days=2))
    old_text = _signed(store)
    old_kid = store.signer.kid
    store.rotate(now=NOW - timedelta(days=1))
    assert store.signer.kid != old_kid
    doc = store.trust_list()
    text = json.dumps(doc)
    assert "PRIVATE" not in text
    assert len(doc["dsc"]) == 2 and [d["current"] for d in doc["dsc"]] == [False, True]
    for entry in doc["dsc"]:
        der = base64.b64decode(entry["certificate"])
        import hashlib

        assert base64.b64decode(entry["kid"]) == hashlib.sha256(der).digest()[:8]
    assert base64.b64decode(doc["csca"][0]["certificate"]) == store.csca.public_bytes(
        serialization.Encoding.DER
    )
    # certificates signed by the old DSC still verify against the published list
    trusted = [e["certificate"] for e in doc["dsc"]]
    assert verify(old_text, trusted, NOW).valid
    assert verify(_signed(store), trusted, NOW).valid


# -- round trip and independent checks --------------------------------------------------------
def test_round_trip_layers_independently(keys: KeyStore) -> None:
    text = _signed(keys)
    assert text.startswith("HC1:")
    cose = zlib.decompress(base45.b45decode(text[4:]))
    tag = cbor2.loads(cose)
    assert tag.tag == 18
    protected, _unprotected, payload, signature = tag.value
    assert cbor2.loads(protected) == {1: -7, 4: keys.signer.kid}
    claims = cbor2.loads(payload)
    assert claims[1] == "VN" and claims[-260][1] == DCC
    assert claims[4] - claims[6] == 365 * 86400
    # the signature checked with cryptography directly over the RFC 8152 Sig_structure
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    keys.signer.certificate.public_key().verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    v = verify(text, [keys.signer.certificate], NOW, revoked=set())
    assert v.valid and all(s == "pass" for s in v.steps.values())
    assert v.dcc == DCC and v.kind == "v" and v.uvci == DCC["v"][0]["ci"] and v.alg == "ES256"


def _rsa_signer(usages: list[str] | None) -> hcert.Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test RSA DSC")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=10))
        .not_valid_after(NOW + timedelta(days=400))
    )
    if usages:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(u) for u in usages]), critical=False
        )
    return hcert.Signer(key, builder.sign(key, hashes.SHA256()))


def test_ps256_and_key_usage() -> None:
    signer = _rsa_signer([EKU_TEST])
    payload = hcert.cwt_payload(
        DCC, issuer="VN", iat=int(NOW.timestamp()), exp=int(NOW.timestamp()) + 3600
    )
    text = hcert.encode(signer.sign(payload))
    v = verify(text, [signer.certificate], NOW)
    assert v.alg == "PS256" and v.steps["signature"] == "pass"
    assert v.steps["key_usage"] == "fail" and not v.valid  # a test-only DSC signed a vaccination
    assert dcc_usages(signer.certificate) == {EKU_TEST}
    anyuse = _rsa_signer(None)
    text = hcert.encode(anyuse.sign(payload))
    assert verify(text, [anyuse.certificate], NOW).valid  # no DCC usages: any kind allowed
    both = _rsa_signer([EKU_VACCINATION, EKU_RECOVERY])
    assert verify(hcert.encode(both.sign(payload)), [both.certificate], NOW).valid


def test_load_certificate_forms(keys: KeyStore) -> None:
    cert = keys.signer.certificate
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    for form in (cert, der, pem, pem.decode(), base64.b64encode(der).decode()):
        assert load_certificate(form) == cert


# -- bad input: a verdict naming the failing step, never an exception ------------------------
def _first_fail(v) -> str:  # type: ignore[no-untyped-def]
    return v.failed[0]


def test_bad_inputs_name_the_failing_step(keys: KeyStore) -> None:
    good = _signed(keys)
    trusted = [keys.signer.certificate]
    # Base45 text of length 3k+1 always has a dangling character (3k+2 is valid: it decodes
    # to one byte fewer), whatever the length of this run's signed payload. The dangling
    # character is a digit: Base45's space would be stripped as surrounding whitespace by the
    # verifier, leaving a valid 3k text (a CI run drew a payload whose cut ended in a space).
    body = good[4:]
    dangling = body[: 3 * ((len(body) - 1) // 3)] + "0"
    assert len(dangling) % 3 == 1 and len(dangling) <= len(body)
    cases = {
        "": "prefix",
        "hello": "prefix",
        "HC2:" + good[4:]: "prefix",
        good[4:]: "prefix",
        "HC1:abc": "base45",  # lower case is not Base45
        "HC1:" + dangling: "base45",  # truncated: a dangling character
        "HC1:" + base45.b45encode(b"not zlib").decode(): "zlib",
        "HC1:" + base45.b45encode(zlib.compress(b"\xa1\x01")).decode(): "cose",
        hcert.encode(cbor2.dumps(["a", {}, b"", b""])): "cose",
    }
    for text, step in cases.items():
        v = verify(text, trusted, NOW)
        assert not v.valid and _first_fail(v) == step, (text[:20], v.steps)
        assert v.reasons[step]["vi"] and v.reasons[step]["en"]
        assert all(v.steps[s] == "not_checked" for s in STEPS[STEPS.index(step) + 1 :])
    assert verify(None, trusted).failed == ["prefix"]
    assert verify(b"\xff\xfe", trusted).failed == ["prefix"]
    assert verify("HC1:" + "A" * 20_000, trusted).failed == ["prefix"]


def test_tampered_payload_fails_signature(keys: KeyStore) -> None:
    text = _signed(keys)
    cose = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    protected, unprotected, payload, signature = cose.value
    claims = cbor2.loads(payload)
    claims[-260][1]["v"][0]["dn"] = 3  # one more dose than was given
    forged = cbor2.dumps(
        cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(claims), signature])
    )
    v = verify(hcert.encode(forged), [keys.signer.certificate], NOW)
    assert v.steps["signature"] == "fail" and v.steps["cose"] == "pass" and not v.valid
    assert v.dcc["v"][0]["dn"] == 3  # the content is still shown, and said to be forged


def test_unknown_kid_expiry_and_revocation(keys: KeyStore, tmp_path: Path) -> None:
    text = _signed(keys)
    other = KeyStore.for_data_dir(tmp_path)
    other.init(now=NOW - timedelta(days=1))
    v = verify(text, [other.signer.certificate], NOW)
    assert v.steps["kid"] == "fail" and v.steps["signature"] == "fail" and not v.valid
    many = [other.signer.certificate] * 5  # a big trust list is not scanned for the key
    v = verify(text, many, NOW)
    assert v.steps["kid"] == "fail" and v.steps["signature"] == "not_checked"
    assert "not in the trust list" in v.reasons["kid"]["en"]
    trusted = Trust([keys.signer.certificate])
    assert verify(text, trusted, NOW - timedelta(days=1)).failed == ["expiry"]
    assert verify(text, trusted, NOW + timedelta(days=366)).failed == ["expiry"]
    v = verify(text, trusted, NOW, revoked={DCC["v"][0]["ci"]})
    assert v.failed == ["revocation"] and not v.valid
    assert verify(text, trusted, NOW, revoked={"URN:UVCI:01:VN:OTHER#A"}).valid
    assert verify(text, [], NOW).steps["signature"] == "not_checked"
    assert not verify(text, [], NOW).valid


def test_kid_in_unprotected_header_only(keys: KeyStore) -> None:
    signer = keys.signer
    payload = hcert.cwt_payload(
        DCC, issuer="VN", iat=int(NOW.timestamp()), exp=int(NOW.timestamp()) + 99
    )
    protected = cbor2.dumps({1: -7})
    der = signer.private_key.sign(
        hcert.sig_structure(protected, payload), ec.ECDSA(hashes.SHA256())
    )
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {4: signer.kid}, payload, sig]))
    assert verify(hcert.encode(cose), [signer.certificate], NOW).valid


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=300),
        st.text(alphabet="HC1:0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./", max_size=300).map(
            lambda s: "HC1:" + s
        ),
        st.binary(max_size=200),
    )
)
def test_arbitrary_input_never_raises(text: object) -> None:
    v = verify(text, [], NOW)
    assert not v.valid and set(v.steps) == set(STEPS)
    json.dumps(v.as_dict())


@settings(max_examples=60, deadline=None)
@given(junk=st.binary(min_size=1, max_size=300))
def test_arbitrary_cbor_in_a_valid_envelope_never_raises(junk: bytes) -> None:
    v = verify(hcert.encode(junk), [], NOW)
    assert not v.valid
    json.dumps(v.as_dict())


def test_images(keys: KeyStore) -> None:
    text = _signed(keys)
    v = verify_image(qr_png(text), [keys.signer.certificate], NOW)
    assert v.valid, v.reasons
    for junk in (b"", b"not an image", qr_png("hello")[:50]):
        assert verify_image(junk, [], NOW).failed == ["prefix"]


# -- the shipped font --------------------------------------------------------------------------
def test_font_has_every_vietnamese_letter() -> None:
    from fontTools.ttLib import TTFont

    for bold in (False, True):
        cmap = TTFont(font_path(bold=bold)).getBestCmap()
        missing = [c for c in VIETNAMESE_LETTERS if ord(c) not in cmap]
        assert len(VIETNAMESE_LETTERS) == 134 and missing == []
    licence = font_path().parent / "LICENSE-DejaVu.txt"
    assert "Bitstream" in licence.read_text(encoding="utf-8")
    assert os.path.getsize(font_path()) > 100_000


def test_printed_page_scans_back(keys: KeyStore, tmp_path: Path) -> None:
    """The PDF page, rasterised like a print or scan (poppler's pdftoppm), decodes with zxing
    to the same HC1: text, which verifies."""
    import shutil
    import subprocess
    from datetime import date

    from tiemchung.certificates.pdf import render
    from tiemchung.certificates.service import DoseLine, Issued

    # .ci/run installs poppler-utils: a missing pdftoppm is a broken set-up, not a skip.
    assert shutil.which("pdftoppm"), (
        "poppler-utils (pdftoppm) missing: apt-get install poppler-utils"
    )
    text = _signed(keys)
    cert = Issued(
        uvci=DCC["v"][0]["ci"],
        hc1=text,
        dcc=DCC,
        issued_at=NOW,
        expires_at=NOW + timedelta(days=365),
        kid="k",
        person_id="P-AN",
        full_name="Nguyễn Văn An",
        dob="1985-04-12",
        national_id="001085123456",
        doses=[DoseLine(1, 1, date(2021, 10, 1), "PFIZER", "Pfizer", "Trạm Y tế Điện Biên")],
    )
    render([cert], tmp_path / "c.pdf")
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "100",
            "-singlefile",
            str(tmp_path / "c.pdf"),
            str(tmp_path / "c"),
        ],
        check=True,
    )
    v = verify_image((tmp_path / "c.png").read_bytes(), [keys.signer.certificate], NOW)
    assert v.valid, v.reasons
