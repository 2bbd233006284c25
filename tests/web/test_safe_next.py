"""`safe_next` refuses every way of naming another site, by itself (issue 20 point 1).

The attack strings are the open-redirect classes browsers and proxies are known to read as
another host (backslash as slash, dropped tabs and newlines, encoded slashes, scheme-relative
and scheme URLs); each must come back as the default. Ordinary return paths, with queries
and encoded characters that are not slashes, must come back unchanged.
"""

from __future__ import annotations

import pytest

from tiemchung.web.guard import safe_next

ATTACKS = [
    "//evil.example",
    "//evil.example/desk",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%255Cevil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%252F%252Fevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "/\x00evil",
    "/\x7fevil",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/" + "a" * 3000,
]

KEPT = [
    "/",
    "/desk",
    "/desk?x=1",
    "/worklists?q=Nguy%E1%BB%85n%20V%C4%83n&page=2",
    "/persons/P-001#doses",
    "/signin?next=%2Fdesk",  # an encoded slash in the query is a value, not a path
    "/dashboard?from=01/06/2021",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_another_site_is_refused(value: str) -> None:
    assert safe_next(value, default="/home") == "/home"


@pytest.mark.parametrize("value", KEPT)
def test_a_local_path_is_kept(value: str) -> None:
    assert safe_next(value, default="/home") == value


def test_none_is_the_default() -> None:
    assert safe_next(None) == "/"
