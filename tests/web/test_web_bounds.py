"""The pages' integer parameters are bounded like the API's (issue 14): a 2^63 id or offset
is refused before the database sees it, never a 500 (SQLite raised OverflowError)."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web

BIG = 2**63


@pytest.mark.parametrize(
    "path",
    [
        f"/worklist/{BIG}",
        f"/worklist?offset={BIG}",
        f"/worklist?done={BIG}",
        f"/worklist/1?done={BIG}",
    ],
)
def test_huge_integers_in_worklist_pages(web: Web, path: str) -> None:
    assert web.sign_in("ward_a1").status_code == 303
    r = web.client.get(path)
    assert r.status_code == 422, (r.status_code, r.text[:300])


def test_huge_item_id_in_a_decision(web: Web) -> None:
    assert web.sign_in("ward_a1").status_code == 303
    web.page("/worklist")
    r = web.htmx(f"/worklist/{BIG}/accept", {"reason": "x"})
    assert r.status_code == 422, (r.status_code, r.text[:300])
