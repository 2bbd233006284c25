"""The SMS templates page (both backends) without script: the Preview button prices the
typed body and keeps it in the form, a wrong placeholder comes back named, the centre saves
and resets (audited), a province reads and previews but may not save, a commune is refused."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from tests.web.conftest import Web
from tiemchung.core import Platform
from tiemchung.registry.models import AuditEvent


def _post(web: Web, path: str, data: dict[str, str]) -> httpx.Response:
    return web.client.post(path, data=data | {"csrf_token": web.csrf}, follow_redirects=False)


def _article(html: str, key: str) -> str:
    found = re.search(rf'<article class="card" id="tpl-{key}".*?</article>', html, re.S)
    assert found is not None, key
    return found.group(0)


def _figure(article: str, name: str) -> str:
    found = re.search(rf'<span data-b="{name}"[^>]*>([^<]*)</span>', article)
    assert found is not None, name
    return found.group(1)


def test_preview_save_and_reset_without_script(web: Web, platform: Platform) -> None:
    web.sign_in("central")
    page = web.page("/messages/templates").text
    assert 'id="nav-templates"' in page
    assert [k for k in re.findall(r'data-key="([a-z_]+)"', page)] == [
        "invitation",
        "moved_up",
        "cancelled",
        "reminder",
        "otp",
    ]
    r = _post(web, "/messages/templates/cancelled", {"body": "b" * 161, "action": "preview"})
    assert r.status_code == 200
    art = _article(r.text, "cancelled")
    assert (_figure(art, "segments"), _figure(art, "characters")) == ("2", "161")
    assert _figure(art, "left") == "145" and "b" * 161 + "</textarea>" in art
    r = _post(web, "/messages/templates/invitation", {"body": "Hen {ngay}", "action": "save"})
    assert r.status_code == 422
    art = _article(r.text, "invitation")
    assert 'data-rule="unknown_placeholder"' in art and "{ngay}" in art
    assert 'data-rule="missing_placeholder"' in art and "{link}" in art
    r = _post(
        web,
        "/messages/templates/cancelled",
        {"body": "Buổi {day} hủy", "keep_accents": "1", "action": "save"},
    )
    assert r.status_code == 303 and "done=saved" in r.headers["location"]
    art = _article(web.page(r.headers["location"]).text, "cancelled")
    # "Buổi 31/12 hủy": 14 characters, accents kept so UCS-2, 56 left of 70
    assert _figure(art, "text") == "Buổi 31/12 hủy" and _figure(art, "encoding") == "UCS-2"
    assert (_figure(art, "characters"), _figure(art, "left")) == ("14", "56")
    r = _post(web, "/messages/templates/cancelled/reset", {})
    assert r.status_code == 303 and "done=reset" in r.headers["location"]
    art = _article(web.page(r.headers["location"]).text, "cancelled")
    assert "Buoi tiem ngay {day} tai {site} da huy" in art
    with platform.sessions() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "sms_template")
        ).all()
    assert list(actions) == ["sms_template.update", "sms_template.reset"]


def test_a_province_previews_but_does_not_save_and_a_commune_is_refused(web: Web) -> None:
    web.sign_in("prov_a")
    page = web.page("/messages/templates").text
    assert 'id="save-invitation"' not in page and 'id="preview-invitation"' in page
    r = _post(web, "/messages/templates/reminder", {"body": "Mui {dose}", "action": "preview"})
    assert r.status_code == 200 and _figure(_article(r.text, "reminder"), "characters") == "6"
    r = _post(web, "/messages/templates/reminder", {"body": "Mui {dose}", "action": "save"})
    assert r.status_code == 403
    web.sign_in("ward_a1")
    assert web.page("/messages/templates").status_code == 403
