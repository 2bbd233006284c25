"""The DCC JSON schema compiled once into plain Python checks: every payload is still checked
against the shipped schema, ~10 times faster than :mod:`jsonschema`'s generic walk.

:func:`compile_schema` turns each schema node into one closure, keyword by keyword, with the
semantics of :mod:`jsonschema` 4.x for draft 2020-12 (its ``_keywords`` and type checker:
``integer`` accepts an integral float, ``number`` any :class:`numbers.Number` but not a bool;
``pattern`` is :func:`re.search`; a keyword applies only to instances of its type). A keyword it
does not implement makes compilation fail (:class:`UnsupportedSchemaError`) instead of being
skipped, so a future schema with, say, ``enum`` cannot be checked less than it says; keywords
that assert nothing (``description``, ``format`` — no format checker is configured, as for the
jsonschema validator — and the DCC's ``valueset-uri``) are ignored, as jsonschema ignores them.

The compiled check only answers valid or not. The error messages of an invalid payload still
come from jsonschema (:func:`tiemchung.certificates.schema.schema_errors`), which stays the
reference: the tests compare the two on every official test vector and on generated payloads.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that do not assert anything about an instance (annotations and containers).
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",  # an annotation unless a format checker is configured (none is)
        "valueset-uri",  # the DCC schema's own annotation
    }
)


class UnsupportedSchemaError(ValueError):
    """The schema uses a keyword this compiler does not implement."""


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Number)


TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(x: Any) -> bool:  # a loop: half the cost of all() over a generator
        for c in frozen:  # noqa: SIM110
            if not c(x):
                return False
        return True

    return check


def _type(types: Any) -> Check:
    names = [types] if isinstance(types, str) else list(types)
    for name in names:
        if name not in TYPES:
            raise UnsupportedSchemaError(f"unknown type {name!r}")
    if len(names) == 1:
        return TYPES[names[0]]
    preds = tuple(TYPES[n] for n in names)
    return lambda x: any(p(x) for p in preds)


def _properties(props: Mapping[str, Any]) -> Check:
    subs = tuple((name, compile_schema(sub)) for name, sub in props.items())

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return True
        for name, sub in subs:  # noqa: SIM110 (a loop: faster than all() on a generator)
            if name in x and not sub(x[name]):
                return False
        return True

    return check


def _required(names: list[str]) -> Check:
    frozen = tuple(names)
    return lambda x: not isinstance(x, dict) or all(n in x for n in frozen)


def _items(sub_schema: Any, schema: Mapping[str, Any]) -> Check:
    if "prefixItems" in schema:
        raise UnsupportedSchemaError("prefixItems")
    if sub_schema is False:
        return lambda x: not isinstance(x, list) or not x
    sub = compile_schema(sub_schema)
    return lambda x: not isinstance(x, list) or all(sub(i) for i in x)


def _pattern(regex: str) -> Check:
    search = re.compile(regex).search
    return lambda x: not isinstance(x, str) or search(x) is not None


def _one_of(subs: list[Any]) -> Check:
    checks = tuple(compile_schema(s) for s in subs)
    return lambda x: sum(1 for c in checks if c(x)) == 1


def _any_of(subs: list[Any]) -> Check:
    checks = tuple(compile_schema(s) for s in subs)
    return lambda x: any(c(x) for c in checks)


def _all_of(subs: list[Any]) -> Check:
    return _all([compile_schema(s) for s in subs])


def _keyword(key: str, value: Any, schema: Mapping[str, Any]) -> Check:
    """One keyword's check (the instance types it does not apply to pass, as in jsonschema)."""
    if key == "type":
        return _type(value)
    if key == "properties":
        return _properties(value)
    if key == "required":
        return _required(value)
    if key == "items":
        return _items(value, schema)
    if key == "pattern":
        return _pattern(value)
    if key == "oneOf":
        return _one_of(value)
    if key == "anyOf":
        return _any_of(value)
    if key == "allOf":
        return _all_of(value)
    if key == "maxLength":
        return lambda x: not isinstance(x, str) or len(x) <= value
    if key == "minLength":
        return lambda x: not isinstance(x, str) or len(x) >= value
    if key == "maxItems":
        return lambda x: not isinstance(x, list) or len(x) <= value
    if key == "minItems":
        return lambda x: not isinstance(x, list) or len(x) >= value
    if key == "minimum":
        return lambda x: not _is_number(x) or not x < value
    if key == "maximum":
        return lambda x: not _is_number(x) or not x > value
    raise UnsupportedSchemaError(f"keyword {key!r} is not implemented by the compiled validator")


def compile_schema(schema: Any) -> Check:
    """A function telling whether an instance satisfies ``schema`` (references already
    inlined, see :func:`tiemchung.certificates.schema._inline`)."""
    if schema is True:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, Mapping):
        raise UnsupportedSchemaError(f"a schema must be an object or a boolean, not {schema!r}")
    if "$ref" in schema or "$dynamicRef" in schema:
        raise UnsupportedSchemaError("references must be inlined before compiling")
    checks: list[Check] = []
    # Cheap type checks first: they reject most wrong shapes before any descent.
    order = sorted(schema, key=lambda k: (k != "type", k in ("properties", "items", "oneOf")))
    for key in order:
        if key in ANNOTATIONS:
            continue
        checks.append(_keyword(key, schema[key], schema))
    return _all(checks)


__all__ = ["ANNOTATIONS", "TYPES", "UnsupportedSchemaError", "compile_schema"]
