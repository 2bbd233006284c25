"""A bounded fuzz of the DCC verifier on damaged ``HC1:`` texts, at every layer (issue 14).

:func:`tiemchung.certificates.verify` documents its only outcome for bad input: a verdict whose
failed step names the layer and a reason (Vietnamese and English). Its last-resort handler
turns a bug into a step failed with "unexpected error", so "never raised" is not enough: these
tests also require that no verdict carries that reason, that the verdict serialises as the
API sends it (orjson), and that ``tiemchung verify`` (the CLI path) exits 0 or 1, never with a
traceback.

Damage is applied to a real signed certificate at each layer — the text, the Base45-decoded
bytes, the COSE bytes — and, signed with the real key so that the signature passes, to the
CWT claims and the DCC itself (odd types, huge numbers, CBOR tags), which is where the later
steps (schema, expiry, key usage, revocation) read.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import base45
import cbor2
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.certificates.samples import DCC
from tiemchung.certificates import STEPS, Trust, hcert, verify
from tiemchung.certificates.keys import KeyStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore.for_data_dir(tmp_path_factory.mktemp("data"))
    store.init(now=NOW - timedelta(days=30))
    return store


@pytest.fixture(scope="module")
def trust(keys: KeyStore) -> Trust:
    return Trust([keys.signer.certificate])


@pytest.fixture(scope="module")
def valid_cose(keys: KeyStore) -> bytes:
    """One signed COSE (ECDSA signatures differ each time: signed once, so that a drawn edit
    means the same thing on a replay)."""
    return keys.signer.sign(cbor2.dumps(_claims()))


@pytest.fixture(scope="module")
def valid_text(valid_cose: bytes) -> str:
    return hcert.encode(valid_cose)


def _claims(dcc: Any = DCC, **over: Any) -> dict[Any, Any]:
    claims: dict[Any, Any] = {
        hcert.CLAIM_ISS: "VN",
        hcert.CLAIM_IAT: int(NOW.timestamp()) - 3600,
        hcert.CLAIM_EXP: int(NOW.timestamp()) + 86400,
        hcert.CLAIM_HCERT: {1: dcc},
    }
    claims.update(over)
    return claims


def _signed_text(keys: KeyStore, claims: Any) -> str:
    return hcert.encode(keys.signer.sign(cbor2.dumps(claims)))


def check(v: Any) -> None:
    """What every verdict of damaged input must be: complete, explained, serialisable."""
    assert set(v.steps) == set(STEPS)
    assert not v.valid or not v.failed
    for step, reason in v.reasons.items():
        assert step in STEPS and reason["vi"] and reason["en"]
        assert "unexpected error" not in reason["en"], (step, reason)
    body = v.as_dict()
    orjson.dumps(body)  # what POST /api/v1/certificates/verify sends
    json.dumps(body, allow_nan=False)


# -- layer by layer --------------------------------------------------------------------------


def test_the_valid_one_is_valid(keys: KeyStore, trust: Trust) -> None:
    v = verify(_signed_text(keys, _claims()), trust, NOW)
    assert v.valid, v.as_dict()


@st.composite
def text_edits(draw: Any, text: str) -> str:
    out = list(text)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "delete", "insert", "truncate", "case"]))
        i = draw(st.integers(0, max(0, len(out) - 1)))
        if op == "replace" and out:
            out[i] = draw(st.one_of(st.sampled_from(B45), st.characters()))
        elif op == "delete" and out:
            del out[i]
        elif op == "insert":
            out.insert(i, draw(st.one_of(st.sampled_from(B45), st.characters())))
        elif op == "truncate":
            out = out[:i]
        elif op == "case":
            out = list("".join(out).lower())
    return "".join(out)


@FUZZ
@given(data=st.data())
def test_damaged_text(valid_text: str, trust: Trust, data: st.DataObject) -> None:
    text = data.draw(text_edits(valid_text))
    v = verify(text, trust, NOW)
    check(v)
    check(verify(text.encode("utf-8", "surrogatepass"), trust, NOW, revoked={"X"}))


@st.composite
def byte_edits(draw: Any, raw: bytes) -> bytes:
    out = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        i = draw(st.integers(0, len(out) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if op == "flip":
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del out[i]
        elif op == "insert":
            out.insert(i, draw(st.integers(0, 255)))
        else:
            del out[i:]
    return bytes(out)


@FUZZ
@given(data=st.data())
def test_damaged_compressed_bytes(valid_text: str, trust: Trust, data: st.DataObject) -> None:
    compressed = hcert.b45decode(valid_text[4:])
    damaged = data.draw(byte_edits(compressed))
    check(verify("HC1:" + base45.b45encode(damaged).decode("ascii"), trust, NOW))


@FUZZ
@given(data=st.data())
def test_damaged_cose_bytes(valid_cose: bytes, trust: Trust, data: st.DataObject) -> None:
    damaged = data.draw(byte_edits(valid_cose))
    check(verify(hcert.encode(damaged), trust, NOW, revoked=set()))


# -- well signed, strange content ------------------------------------------------------------

_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64, max_value=2**200),  # CBOR bignums
    st.integers(max_value=-(2**64), min_value=-(2**200)),
    st.floats(),  # NaN and infinities included
    st.text(max_size=20),
    st.binary(max_size=10),
    st.sampled_from(
        [
            Decimal("1.5"),  # CBOR tag 4
            cbor2.CBORTag(1, "x"),  # an epoch date that is text
            cbor2.CBORTag(0, "2021-13-45"),  # an impossible RFC 3339 date
            cbor2.CBORTag(999, 1),
            cbor2.undefined,
            cbor2.CBORSimpleValue(99),
            frozenset({1, 2}),  # CBOR tag 258
            datetime(2021, 10, 22, tzinfo=UTC),
        ]
    ),
)
_values = st.recursive(
    _odd,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def strange_dcc(draw: Any) -> Any:
    """The sample DCC with a few fields (top level or in the vaccination entry) replaced."""
    dcc: dict[str, Any] = json.loads(json.dumps(DCC))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "v0", "nam", "whole_v"]))
        value = draw(_values)
        if where == "top":
            dcc[draw(st.sampled_from(["ver", "dob", "v", "t", "r", "x"]))] = value
        elif where == "v0" and isinstance(dcc.get("v"), list) and dcc["v"]:
            entry = dcc["v"][0]
            if isinstance(entry, dict):
                entry[draw(st.sampled_from(["ci", "dn", "sd", "dt", "mp", "co"]))] = value
        elif where == "nam" and isinstance(dcc.get("nam"), dict):
            dcc["nam"][draw(st.sampled_from(["fn", "gnt", "fnt"]))] = value
        else:
            dcc["v"] = value
    return dcc


@FUZZ
@given(dcc=strange_dcc(), iat=_odd, exp=_odd, iss=_odd)
@example(dcc={**DCC, "v": [{**DCC["v"][0], "dn": 2**70}]}, iat=0, exp=2**40, iss="VN")
@example(dcc={**DCC, "dob": float("nan")}, iat=None, exp=None, iss=None)
@example(dcc={**DCC, "x": Decimal("1.5")}, iat=1.5, exp=float("inf"), iss=b"VN")
@example(dcc={**DCC, "x": frozenset({1})}, iat=-(2**70), exp=2**70, iss=cbor2.undefined)
def test_well_signed_strange_content(
    keys: KeyStore, trust: Trust, dcc: Any, iat: Any, exp: Any, iss: Any
) -> None:
    claims = _claims(dcc)
    claims.update({hcert.CLAIM_IAT: iat, hcert.CLAIM_EXP: exp, hcert.CLAIM_ISS: iss})
    v = verify(_signed_text(keys, claims), trust, NOW, revoked={"URN:UVCI:01:VN:X"})
    check(v)
    # the damage is past the signature, unless the CBOR itself does not decode (a tag 0 date
    # that is no date): then the COSE step says so
    assert v.steps["signature"] == "pass" or v.failed == ["cose"], v.as_dict()


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except (TypeError, RuntimeError):  # cbor2's tags raise RuntimeError
        return False
    return True


@FUZZ
@given(hcert_claim=_values, extra_key=_odd)
def test_well_signed_strange_claims(
    keys: KeyStore, trust: Trust, hcert_claim: Any, extra_key: Any
) -> None:
    claims = _claims()
    claims[hcert.CLAIM_HCERT] = hcert_claim
    if _hashable(extra_key):  # CBOR allows any key, Python maps only hashable ones
        claims[extra_key] = "x"
    check(verify(_signed_text(keys, claims), trust, NOW))


@FUZZ
@given(headers=st.dictionaries(_odd.filter(_hashable), _odd, max_size=3))
def test_strange_cose_headers(keys: KeyStore, trust: Trust, headers: dict[Any, Any]) -> None:
    """A COSE_Sign1 built by hand with odd protected and unprotected headers."""
    payload = cbor2.dumps(_claims())
    protected = cbor2.dumps({1: -7, **headers})
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, headers, payload, b"\x00" * 64]))
    check(verify(hcert.encode(cose), trust, NOW))
    check(verify(hcert.encode(zlib.compress(cose)[2:]), trust, NOW))


# -- the CLI path ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cli_verify_exits_0_or_1(
    keys: KeyStore, valid_text: str, tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    from tiemchung.cli.main import app

    pem = Path(tmp_path_factory.getbasetemp()) / "signer.pem"
    if not pem.exists():
        pem.write_bytes(keys.signer.certificate.public_bytes(serialization.Encoding.PEM))
    text = data.draw(text_edits(valid_text))
    text = text.lstrip("-") or "HC1:"  # an argument, not an option
    for args in (["verify", text, "--cert", str(pem)], ["verify", text, "--cert", str(pem),
                                                         "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output, result.exception)
        assert "Traceback" not in result.output
