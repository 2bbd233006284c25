"""`/api/v1/message-templates` through the real app (both backends): list, read, edit,
reset, the budget of an unsaved body, and a wrong placeholder answered as a problem that
names it in both languages."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tiemchung.core import Platform


def _put(api: Api, key: str, as_: str, body: dict[str, Any]) -> Any:
    return api.client.put(f"/api/v1/message-templates/{key}", headers=api.headers(as_), json=body)


def test_a_wrong_placeholder_is_a_problem_naming_it(api: Api) -> None:
    r = _put(api, "invitation", "central", {"body": "Moi ban ngay {day} tai {place}"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    errors = {e["rule"]: e for e in r.json()["errors"]}
    assert set(errors) == {"unknown_placeholder", "missing_placeholder"}
    assert "{place}" in errors["unknown_placeholder"]["message_vi"]
    assert "{place}" in errors["unknown_placeholder"]["message_en"]
    assert "{link}" in errors["missing_placeholder"]["message_en"]
    assert errors["missing_placeholder"]["field"] == "body"
    r = api.get("/message-templates/nothing", "central")
    assert r.status_code == 404 and "invitation" in r.text


def test_edit_read_and_reset(api: Api) -> None:
    assert _put(api, "cancelled", "prov_a", {"body": "Huy {day}"}).status_code == 403
    r = _put(api, "cancelled", "central", {"body": "Buổi tiêm {day} đã hủy", "keep_accents": True})
    assert r.status_code == 200, r.text
    got = api.get("/message-templates/cancelled", "prov_a").json()
    assert got["body"] == "Buổi tiêm {day} đã hủy" and got["keep_accents"] is True
    assert got["is_default"] is False and got["updated_by"] == "central"
    # "Buổi tiêm 31/12 đã hủy": 22 characters, accented so UCS-2
    assert got["budget"]["text"] == "Buổi tiêm 31/12 đã hủy"
    assert (got["budget"]["encoding"], got["budget"]["characters"]) == ("ucs2", 22)
    assert (got["budget"]["segments"], got["budget"]["left"]) == (1, 48)
    r = api.post("/message-templates/cancelled:reset", "central")
    assert r.status_code == 200 and r.json()["is_default"] is True
    listed = api.get("/message-templates", "central").json()["items"]
    assert [t["key"] for t in listed] == ["invitation", "moved_up", "cancelled", "reminder", "otp"]
    assert all(t["is_default"] for t in listed)


def test_the_preview_prices_an_unsaved_body(api: Api, platform: Platform) -> None:
    r = api.post("/message-templates/cancelled:preview", "prov_a", json={"body": "a" * 161})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["encoding"], b["characters"], b["segments"], b["left"]) == ("gsm7", 161, 2, 145)
    assert b["warnings"] and "2" in b["warnings"][0]["message_en"]
    r = api.post("/message-templates/cancelled:preview", "prov_a", json={"body": "a" * 160})
    assert (r.json()["segments"], r.json()["warnings"]) == (1, [])
    assert api.get("/message-templates/cancelled", "central").json()["is_default"] is True
    # the link is the real one: the public URL, "/i/", nine digits, ".", 20 hex digits
    r = api.post("/message-templates/invitation:preview", "central", json={"body": "{link}"})
    assert r.json()["characters"] == len(platform.settings.public_url.rstrip("/")) + 33
    r = api.post("/message-templates/otp:preview", "central", json={"body": "Ma cua ban"})
    assert r.status_code == 422 and "{code}" in r.text
