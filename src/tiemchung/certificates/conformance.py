"""The EU DCC test vectors (``dgc-testdata``): one check per ``EXPECTEDRESULTS`` flag.

Each check computes, with this package's codec and verifier, whether the step the flag names
succeeds for the vector; the test suite and ``bench/certificates.py --conformance`` compare
that with the expected boolean. A vector lacking the field a flag is about falls back to the
nearest layer it has (``COMPRESSED`` missing: the Base45 decoding of ``BASE45``; ``COSE``
missing: the chain from ``PREFIX``; ``2DCODE`` missing: the ``_2DCODE`` image if any).
Semantics follow the repository's README and its reference test (``tests/test_ehealth_certs``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import base45
import cbor2

from tiemchung.certificates import hcert
from tiemchung.certificates.schema import schema_errors
from tiemchung.certificates.verify import decode_image, verify

FLAGS = (
    "EXPECTEDVALIDOBJECT",
    "EXPECTEDSCHEMAVALIDATION",
    "EXPECTEDENCODE",
    "EXPECTEDDECODE",
    "EXPECTEDVERIFY",
    "EXPECTEDUNPREFIX",
    "EXPECTEDVALIDJSON",
    "EXPECTEDCOMPRESSION",
    "EXPECTEDB45DECODE",
    "EXPECTEDPICTUREDECODE",
    "EXPECTEDEXPIRATIONCHECK",
    "EXPECTEDKEYUSAGE",
)

#: Vectors whose expectation this implementation does not meet, and why (each is an xfail
#: with this reason in the tests, and listed in docs/certificates.md).
KNOWN: dict[tuple[str, str], str] = {
    ("BG/1.json", "EXPECTEDSCHEMAVALIDATION"): (
        "schema 1.0.0 payload with null 't'/'r' groups and date-times in dob/dt: the 1.3.x "
        "schema (the one we ship) refuses nulls for those arrays"
    ),
    ("BG/2.json", "EXPECTEDSCHEMAVALIDATION"): (
        "schema 1.0.0 payload with null 'v'/'t' groups and date-times: refused by 1.3.x"
    ),
    ("BG/1.json", "EXPECTEDVALIDOBJECT"): "same payload as its SCHEMAVALIDATION: 1.0.0 nulls",
    ("BG/2.json", "EXPECTEDVALIDOBJECT"): "same payload as its SCHEMAVALIDATION: 1.0.0 nulls",
    ("HU/3.json", "EXPECTEDSCHEMAVALIDATION"): (
        "test centre 'tc' is longer than the 80 characters schema 1.3.x allows"
    ),
    ("HU/3.json", "EXPECTEDVALIDOBJECT"): "'tc' longer than the 80 characters 1.3.x allows",
    ("RO/2.json", "EXPECTEDSCHEMAVALIDATION"): (
        "two vaccination entries in 'v'; schema 1.3.x allows exactly one (maxItems 1)"
    ),
    ("SK/3.json", "EXPECTEDSCHEMAVALIDATION"): (
        "two vaccination entries in 'v'; schema 1.3.x allows exactly one (maxItems 1)"
    ),
    ("common/B1.json", "EXPECTEDPICTUREDECODE"): "the vector carries no 2DCODE image at all",
}


def vectors(root: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(relative name, vector) for every ``*.json`` under ``root``, sorted."""
    for path in sorted(root.rglob("*.json")):
        yield path.relative_to(root).as_posix(), json.loads(path.read_text(encoding="utf-8"))


def clock(vec: dict[str, Any]) -> datetime | None:
    raw = vec.get("TESTCTX", {}).get("VALIDATIONCLOCK")
    if not raw:
        return None
    raw = raw.replace("Z", "+00:00")
    if "." in raw:  # .NET writes 7 fractional digits; Python takes at most 6
        head, _, tail = raw.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        raw = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _trusted(vec: dict[str, Any]) -> list[str]:
    cert = vec.get("TESTCTX", {}).get("CERTIFICATE")
    return [cert] if cert else []


def _cose(vec: dict[str, Any]) -> bytes:
    """The COSE bytes from the nearest layer the vector has."""
    if "COSE" in vec:
        return binascii.unhexlify(vec["COSE"])
    if "COMPRESSED" in vec:
        return hcert.inflate(binascii.unhexlify(vec["COMPRESSED"]))
    if "BASE45" in vec:
        return hcert.inflate(base45.b45decode(vec["BASE45"]))
    return hcert.inflate(base45.b45decode(unprefix(vec["PREFIX"])))


def unprefix(text: str) -> str:
    if not text.startswith(hcert.PREFIX):
        raise ValueError("no HC1: prefix")
    return text[len(hcert.PREFIX) :]


def _normal(value: Any) -> Any:
    """Order-free comparison form: dates and date-times as UTC ISO text (as the reference
    test compares them)."""
    value = hcert.json_safe(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return sorted((_normal(v) for v in value), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _dcc(vec: dict[str, Any]) -> Any:
    """The DCC from the nearest layer: COSE chain, else CBOR, else JSON."""
    try:
        claims = hcert.decode_claims(hcert.decode_cose(_cose(vec)).payload)
        return hcert.json_safe(claims[hcert.CLAIM_HCERT][1])
    except Exception:
        if "CBOR" in vec:
            obj = cbor2.loads(binascii.unhexlify(vec["CBOR"]))
            if isinstance(obj, dict) and hcert.CLAIM_HCERT in obj:
                obj = obj[hcert.CLAIM_HCERT][1]
            return hcert.json_safe(obj)
        if "JSON" in vec and "COSE" not in vec:
            return vec["JSON"]
        raise


def _as_text(vec: dict[str, Any]) -> str:
    return hcert.encode(_cose(vec))


def check_validobject(vec: dict[str, Any]) -> bool:
    return not schema_errors(vec["JSON"])


def check_schemavalidation(vec: dict[str, Any]) -> bool:
    dcc = _dcc(vec)
    groups = [g for g in ("v", "t", "r") if dcc.get(g) is not None]
    return not schema_errors(dcc) and len(groups) == 1


def check_encode(vec: dict[str, Any]) -> bool:
    ours = cbor2.loads(cbor2.dumps(vec["JSON"]))
    theirs = cbor2.loads(binascii.unhexlify(vec["CBOR"]))
    if isinstance(theirs, dict) and hcert.CLAIM_HCERT in theirs:
        theirs = theirs[hcert.CLAIM_HCERT][1]
    return bool(_normal(ours) == _normal(theirs))


def check_decode(vec: dict[str, Any]) -> bool:
    claims = hcert.decode_claims(hcert.decode_cose(_cose(vec)).payload)
    decoded = claims[hcert.CLAIM_HCERT][1]
    if "CBOR" in vec:
        cbor = cbor2.loads(binascii.unhexlify(vec["CBOR"]))
        if isinstance(cbor, dict) and hcert.CLAIM_HCERT in cbor:
            cbor = cbor[hcert.CLAIM_HCERT][1]
        if _normal(cbor) != _normal(decoded):
            return False
    return "JSON" not in vec or bool(_normal(vec["JSON"]) == _normal(decoded))


def check_verify(vec: dict[str, Any]) -> bool:
    v = verify(_as_text(vec), _trusted(vec), clock(vec))
    return v.steps["signature"] == "pass" and v.steps["kid"] == "pass"


def check_unprefix(vec: dict[str, Any]) -> bool:
    return bool(unprefix(vec["PREFIX"]) == vec["BASE45"])


def check_validjson(vec: dict[str, Any]) -> bool:
    v = verify(vec["PREFIX"], _trusted(vec), clock(vec))
    return v.dcc is not None and bool(_normal(v.dcc) == _normal(vec["JSON"]))


def check_compression(vec: dict[str, Any]) -> bool:
    raw = (
        binascii.unhexlify(vec["COMPRESSED"])
        if "COMPRESSED" in vec
        else base45.b45decode(vec["BASE45"])
    )
    return hcert.inflate(raw) == binascii.unhexlify(vec["COSE"])


def check_b45decode(vec: dict[str, Any]) -> bool:
    decoded = base45.b45decode(vec["BASE45"])
    if "COMPRESSED" in vec:
        return decoded == binascii.unhexlify(vec["COMPRESSED"])
    return "COSE" not in vec or hcert.inflate(decoded) == binascii.unhexlify(vec["COSE"])


def check_picturedecode(vec: dict[str, Any]) -> bool:
    image = vec.get("2DCODE") or vec.get("_2DCODE")
    if not image:
        raise ValueError("no 2DCODE image in the vector")
    return decode_image(base64.b64decode(image)) == vec["PREFIX"]


def check_expirationcheck(vec: dict[str, Any]) -> bool:
    return verify(_as_text(vec), _trusted(vec), clock(vec)).steps["expiry"] == "pass"


def check_keyusage(vec: dict[str, Any]) -> bool:
    v = verify(_as_text(vec), _trusted(vec), clock(vec))
    return v.steps["signature"] == "pass" and v.steps["key_usage"] == "pass"


CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    flag: globals()["check_" + flag.removeprefix("EXPECTED").lower()] for flag in FLAGS
}


def outcome(vec: dict[str, Any], flag: str) -> bool:
    """Whether the step a flag names succeeds for this vector (an exception is a failure)."""
    try:
        return CHECKS[flag](vec)
    except Exception:
        return False


def cases(root: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(vector name, flag, vector) for every official flag of every vector."""
    for name, vec in vectors(root):
        for flag in vec.get("EXPECTEDRESULTS", {}):
            if flag in CHECKS:
                yield name, flag, vec


def table(root: Path) -> dict[str, dict[str, int]]:
    """Per flag: vectors, matching the expectation, and known (explained) mismatches."""
    out: dict[str, dict[str, int]] = {f: {"vectors": 0, "pass": 0, "known": 0} for f in FLAGS}
    for name, flag, vec in cases(root):
        row = out[flag]
        row["vectors"] += 1
        if outcome(vec, flag) == vec["EXPECTEDRESULTS"][flag]:
            row["pass"] += 1
        elif (name, flag) in KNOWN:
            row["known"] += 1
    return out
