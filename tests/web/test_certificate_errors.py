"""When no certificate can be made (here: no signing keys), each reader gets the page meant
for them: staff see what is missing and the exact command and who runs it; a citizen sees a
plain apology with no technical text, and the look-up (no account) shows no user name and no
sign-out button. Both backends, the real app; the world has no keys until a test makes them.
"""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import Web
from tests.web.test_citizen import AN, give_dose, look_up
from tiemchung.certificates.keys import KeyStore
from tiemchung.core import Platform

TECHNICAL = ("tiemchung", "keys init", "khoá ký", "TIEMCHUNG_DATA_DIR", "503", "lookup@")


def _main(page: httpx.Response) -> str:
    found = re.search(r"<main>(.*)</main>", page.text, re.S)
    assert found is not None
    return found.group(1)


def test_staff_are_told_what_is_missing_and_the_command(web: Web, platform: Platform) -> None:
    give_dose(platform, "an")
    assert web.sign_in("site_a1").status_code == 303
    web.page("/desk")
    r = web.client.post("/desk/certificate", data={"person_id": "P-AN", "csrf_token": web.csrf})
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    main = _main(r)
    assert "Máy chủ chưa có khoá ký số để ký giấy chứng nhận" in main  # what is missing
    assert "<code>tiemchung keys init</code>" in main  # the exact command
    assert "Người quản trị máy chủ" in main and "CDC" in main  # who runs it, whom to tell
    assert "site_a1" in r.text and "/signout" in r.text  # a signed-in nurse keeps the header
    en = web.client.post(
        "/desk/certificate?lang=en", data={"person_id": "P-AN", "csrf_token": web.csrf}
    )
    assert "The server has no digital signing key" in en.text
    assert "chưa có" not in _main(en) and "/keys/dcc" not in en.text  # English, no server path
    # once the keys exist, the same print works without a restart
    KeyStore.for_data_dir(platform.settings.data_dir).init()
    again = web.client.post("/desk/certificate", data={"person_id": "P-AN", "csrf_token": web.csrf})
    assert again.status_code == 200 and again.content.startswith(b"%PDF")


def test_a_citizen_looking_up_gets_a_plain_apology(web: Web, platform: Platform) -> None:
    give_dose(platform, "an")
    assert look_up(web, AN).status_code == 303
    web.page("/lookup/record")
    r = web.client.post("/lookup/certificate", data={"csrf_token": web.csrf})
    assert r.status_code == 503
    assert "Xin lỗi, hiện chưa thể cấp giấy chứng nhận" in r.text
    assert "trạm y tế xã/phường" in r.text
    for word in TECHNICAL:
        assert word not in _main(r), word
    assert "lookup@" not in r.text  # the old page named the capability as a user
    assert "/signout" not in r.text and 'class="user"' not in r.text  # nobody is signed in
    en = web.client.post("/lookup/certificate?lang=en", data={"csrf_token": web.csrf})
    assert "Sorry, the certificate cannot be issued right now" in en.text


def test_a_signed_in_citizen_gets_the_apology_too(web: Web, platform: Platform) -> None:
    give_dose(platform, "an")
    assert web.sign_in("citizen_an").status_code == 303
    web.page("/me")
    r = web.client.post("/me/certificate", data={"csrf_token": web.csrf})
    assert r.status_code == 503 and "Xin lỗi, hiện chưa thể cấp giấy chứng nhận" in r.text
    for word in TECHNICAL:
        assert word not in _main(r), word
    assert "citizen_an" in r.text and "/signout" in r.text  # their own session: they may leave
