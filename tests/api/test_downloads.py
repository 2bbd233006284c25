"""File answers carry a Latin-1-safe Content-Disposition whatever the file is called.

``GET /api/v1/worklist.xlsx?ward_code=ư`` was a 500: the name went into the header as is and
HTTP headers are Latin-1 (issue 14). Every route that answers a file builds the header with
:func:`tiemchung.serving.downloads.content_disposition` (RFC 6266 ``filename`` in ASCII and the
real name in RFC 5987 ``filename*``); the last test fails when a module writes it by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.web.conftest import Web
from tiemchung.serving.downloads import ascii_filename, content_disposition

SRC = Path(__file__).resolve().parents[2] / "src" / "tiemchung"
#: a header spelled out by hand: a quoted filename= in a string of any module but downloads.py
_HAND_MADE = re.compile(r"filename=\\?[\"{]")
_PARAMS = re.compile(r'^(attachment|inline); filename="([ -~]*)"(?:; filename\*=UTF-8\'\'(\S+))?$')


def _parse(value: str) -> tuple[str, str, str | None]:
    """(kind, ASCII name, the real name from filename* or None), checking the grammar."""
    value.encode("latin-1")  # what the server must be able to send
    found = _PARAMS.match(value)
    assert found, value
    kind, fallback, star = found.groups()
    assert '"' not in fallback and "\\" not in fallback
    return kind, fallback, unquote(star, encoding="utf-8", errors="strict") if star else None


@pytest.mark.parametrize(
    ("name", "fallback", "real"),
    [
        ("worklist-16681.xlsx", "worklist-16681.xlsx", None),
        ("worklist-ư.xlsx", "worklist-u.xlsx", "worklist-ư.xlsx"),
        (
            "tiêm chủng theo xã Đông Hưng.csv",
            "tiem_chung_theo_xa_Dong_Hung.csv",
            "tiêm chủng theo xã Đông Hưng.csv",
        ),
        ('a"b\\c\r\nX: 1.pdf', "a_b_c_X_1.pdf", 'a"b\\c\r\nX: 1.pdf'),
        ("数据.xlsx", "xlsx", "数据.xlsx"),
        ("", "download", None),
    ],
)
def test_header_value(name: str, fallback: str, real: str | None) -> None:
    kind, ascii_name, star = _parse(content_disposition(name))
    assert kind == "attachment"
    assert ascii_name == fallback
    # the real name travels whole in filename* whenever the ASCII one differs from it
    assert star == real
    assert _parse(content_disposition(name, inline=True))[0] == "inline"
    assert ascii_filename(name) == fallback


def test_worklist_export_with_a_vietnamese_ward_code(api: Api) -> None:
    r = api.get("/worklist.xlsx", "central", params={"ward_code": "ư"})
    assert r.status_code == 200, r.text
    assert _parse(r.headers["content-disposition"]) == (
        "attachment",
        "worklist-u.xlsx",
        "worklist-ư.xlsx",
    )


def test_web_worklist_export_with_a_vietnamese_ward_code(api: Api) -> None:
    web = Web(TestClient(api.client.app))
    assert web.sign_in("central").status_code == 303
    r = web.client.get("/worklist/export.xlsx", params={"ward": "ư"})
    assert r.status_code == 200, r.text[:500]
    assert _parse(r.headers["content-disposition"])[2] == "worklist-ư.xlsx"


def test_stats_export_uses_the_helper(api: Api) -> None:
    r = api.get("/stats/coverage", "central", params={"format": "csv"})
    if r.status_code == 503:  # the first snapshot is still being built
        pytest.skip("statistics snapshot not ready")
    assert r.status_code == 200, r.text
    kind, fallback, _ = _parse(r.headers["content-disposition"])
    assert kind == "attachment" and fallback.endswith(".csv")


def test_no_module_writes_the_header_itself() -> None:
    """One helper for every file answer: no other module spells the header out."""
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "downloads.py"
        and _HAND_MADE.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders
