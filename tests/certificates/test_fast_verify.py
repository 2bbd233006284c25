"""The fast verification paths held to their references: the vectorised Base45 decoder to the
``base45`` package, the compiled DCC schema to jsonschema — on every official test vector and
on generated input. The references, not our code, give every expected value here."""

from __future__ import annotations

import contextlib
import copy
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import base45
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.certificates.samples import DCC
from tiemchung.certificates import conformance, hcert
from tiemchung.certificates.fastschema import TYPES, UnsupportedSchemaError, compile_schema
from tiemchung.certificates.schema import compiled, schema_errors, validator

VECTORS = Path(__file__).resolve().parents[1] / "data" / "eu-dcc"
ALL_VECTORS = list(conformance.vectors(VECTORS))
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _package(text: str | bytes) -> bytes | None:
    try:
        return base45.b45decode(text)
    except ValueError:
        return None


def _ours(text: str | bytes) -> bytes | None:
    try:
        return hcert.b45decode(text)
    except ValueError as exc:
        assert str(exc) == "Invalid base45 string"
        return None


# -- Base45 ---------------------------------------------------------------------------------
def test_b45decode_matches_the_package_on_every_vector() -> None:
    seen = 0
    for _, vec in ALL_VECTORS:
        texts = [vec.get("BASE45")]
        prefixed = vec.get("PREFIX")
        if isinstance(prefixed, str) and prefixed.startswith(hcert.PREFIX):
            texts.append(prefixed[len(hcert.PREFIX) :])
        for text in texts:
            if isinstance(text, str):
                assert _ours(text) == _package(text), text[:40]
                seen += 1
    assert seen > 150  # both layers of most of the 140 vectors


def test_b45decode_edges_from_rfc_9285() -> None:
    # RFC 9285 §4.3-4.4 examples, and the failures it names.
    assert hcert.b45decode("QED8WEX0") == b"ietf!"
    assert hcert.b45decode("BB8") == b"AB"
    assert hcert.b45decode("%69 VD92EX0") == b"Hello!!"
    assert hcert.b45decode("") == b""
    # 'GGW' is 65536 (RFC 9285 §6), 'A'/'ABCD' have lengths 3k+1, the rest stray characters.
    for bad in ("GGW", ":::", "A", "ABCD", "ab8", "ÀB8", "BB8\x00"):
        assert _ours(bad) is None and _package(bad) is None


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=B45, max_size=120),
        st.text(alphabet=B45 + "\n", max_size=120),
        st.text(max_size=60),
        st.binary(max_size=60),
        st.binary(max_size=120).map(lambda b: base45.b45encode(b).decode()),
    )
)
def test_b45decode_agrees_with_the_package_on_any_input(text: str | bytes) -> None:
    assert _ours(text) == _package(text)


# -- compiled schema ------------------------------------------------------------------------
def _reference_valid(instance: Any) -> bool:
    return not any(True for _ in validator().iter_errors(instance))


def test_compiled_schema_agrees_with_jsonschema_on_every_vector() -> None:
    checked = 0
    for _, vec in ALL_VECTORS:
        candidates = [vec.get("JSON")]
        with contextlib.suppress(Exception):  # a vector whose layers are broken on purpose
            candidates.append(conformance._dcc(vec))
        for dcc in candidates:
            if dcc is None:
                continue
            assert compiled()(dcc) == _reference_valid(dcc), dcc
            checked += 1
    assert checked > 200


def test_every_official_vector_keeps_its_schema_result() -> None:
    # The vectors jsonschema finds invalid stay invalid through the fast path, with messages;
    # the valid ones stay valid.
    dccs = [vec["JSON"] for _, vec in ALL_VECTORS if isinstance(vec.get("JSON"), dict)]
    invalid_by_reference = [d for d in dccs if not _reference_valid(d)]
    assert invalid_by_reference, "the vectors include schema-invalid payloads"
    assert all(schema_errors(d) for d in invalid_by_reference)
    assert all(not schema_errors(d) for d in dccs if _reference_valid(d))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=90)
    | st.sampled_from(["", "NGUYEN", "nguyen", "VAN<AN", "1.3.3", "1.3", "1985", "1985-04"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
_PATHS = [
    (),
    ("ver",),
    ("nam",),
    ("nam", "fnt"),
    ("nam", "gnt"),
    ("nam", "fn"),
    ("dob",),
    ("v",),
    ("v", 0),
    ("v", 0, "dn"),
    ("v", 0, "sd"),
    ("v", 0, "co"),
    ("v", 0, "ci"),
    ("v", 0, "is"),
    ("v", 0, "tg"),
]


@settings(max_examples=600, deadline=None)
@given(
    path=st.sampled_from(_PATHS),
    action=st.sampled_from(["replace", "delete", "add"]),
    value=_JSON | st.text(alphabet="A<Z", min_size=79, max_size=82),
    extra=st.sampled_from(["t", "r", "x", "fnt", "gnt"]),
)
def test_compiled_schema_agrees_with_jsonschema_on_mutations(
    path: tuple[Any, ...], action: str, value: Any, extra: str
) -> None:
    dcc = copy.deepcopy(DCC)
    if not path:
        dcc = value if action == "replace" else {**dcc, extra: value}
    else:
        node: Any = dcc
        for part in path[:-1]:
            node = node[part]
        last = path[-1]
        if action == "replace":
            node[last] = value
        elif action == "delete":
            del node[last]
        elif isinstance(node[last], dict):
            node[last][extra] = value
        else:
            node[last] = [node[last], value] if isinstance(node[last], list) else value
    assert compiled()(dcc) == _reference_valid(dcc)


def test_type_checks_match_jsonschema() -> None:
    checker = Draft202012Validator.TYPE_CHECKER
    values = [0, 1, -1, 1.0, 1.5, math.nan, math.inf, True, False, None, "", "1", [], {}]
    values += [Decimal("1"), Decimal("1.5"), Fraction(1, 2), 10**30, b"x", (1,)]
    for name, ours in TYPES.items():
        for value in values:
            assert ours(value) == checker.is_type(value, name), (name, value)


def test_unknown_keywords_refuse_to_compile() -> None:
    for schema in (
        {"enum": [1, 2]},
        {"type": "string", "const": "x"},
        {"properties": {"a": {"not": {}}}},
        {"$ref": "#/$defs/x"},
        {"type": "strange"},
        {"prefixItems": [{}], "items": {}},
    ):
        with pytest.raises(UnsupportedSchemaError):
            compile_schema(schema)
    # Annotations assert nothing, as in jsonschema.
    check = compile_schema({"description": "d", "format": "date", "valueset-uri": "x"})
    assert check("not a date") and check(None)


def test_schema_errors_still_name_the_problem() -> None:
    bad = copy.deepcopy(DCC)
    bad["v"][0]["dn"] = 0
    bad["nam"]["fnt"] = "nguyen"
    errors = schema_errors(bad)
    assert any(e.startswith("v/0/dn:") and "minimum" in e for e in errors)
    assert any(e.startswith("nam/fnt:") and "does not match" in e for e in errors)
    assert schema_errors(DCC) == []
