"""The users page, the forced password change and the audit page through the real app (both
backends): the same rules as the service and the API, said on the page."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.factories import PASSWORD, world
from tests.web.conftest import Web
from tiemchung.core import Platform
from tiemchung.registry.models import User

NEW = "Hoa-sen-no-7-giua-dam"
MINE = "Cau-vong-sau-mua-42"


def _uid(platform: Platform, username: str) -> int:
    with platform.sessions() as s:
        found = s.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return int(found)


def test_only_province_and_central_see_the_users_and_audit_pages(web: Web) -> None:
    web.sign_in("ward_a1")
    assert web.client.get("/users").status_code == 403
    assert web.client.get("/audit").status_code == 403
    web.sign_in("prov_a")
    r = web.page("/users")
    assert r.status_code == 200
    assert 'data-username="site_a1"' in r.text and 'data-username="site_b1"' not in r.text
    assert '<option value="central"' not in r.text  # a province never grants central
    assert 'href="/users"' in r.text and 'href="/audit"' in r.text


def test_a_province_creates_a_user_who_must_change_the_password(web: Web, web2: Web) -> None:
    web.sign_in("prov_a")
    web.page("/users")
    form = {"csrf_token": web.csrf, "username": "nurse_a2", "password": NEW, "role": "commune"}
    r = web.client.post("/users", data=form | {"ward_code": world().wards["b1"]})
    assert r.status_code == 403 and 'data-rule="grant_out_of_area"' in r.text
    assert 'value="nurse_a2"' in r.text  # what was typed stays in the form
    assert NEW not in r.text  # the password is never sent back
    r = web.client.post("/users", data=form | {"password": "short", "ward_code": ""})
    assert r.status_code == 422 and 'data-rule="too_short"' in r.text
    r = web.client.post(
        "/users", data=form | {"ward_code": world().wards["a2"]}, follow_redirects=False
    )
    assert r.status_code == 303 and "done=created" in r.headers["location"]
    assert "nurse_a2" in web.client.get(r.headers["location"]).text
    # the new user is sent to the change-password page, and every other page sends back there
    r = web2.sign_in("nurse_a2", NEW)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    r = web2.client.get("/worklist", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    r = web2.page("/password")
    assert r.status_code == 200 and 'id="forced"' in r.text
    data = {"csrf_token": web2.csrf, "old_password": NEW, "new_password": MINE, "confirm": "x"}
    r = web2.client.post("/password", data=data)
    assert r.status_code == 422 and 'data-rule="mismatch"' in r.text
    data |= {"new_password": "nurse_a2 again!", "confirm": "nurse_a2 again!"}
    r = web2.client.post("/password", data=data)
    assert r.status_code == 422 and 'data-rule="contains_username"' in r.text
    data |= {"new_password": MINE, "confirm": MINE}
    r = web2.client.post("/password", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/worklist")
    assert web2.client.get("/worklist", follow_redirects=False).status_code == 200


def test_disable_ends_the_session_and_reset_forces_a_change(
    web: Web, web2: Web, platform: Platform
) -> None:
    assert web2.sign_in("site_a1").status_code == 303
    assert web2.client.get("/desk", follow_redirects=False).status_code == 200
    web.sign_in("prov_a")
    web.page("/users")
    uid = _uid(platform, "site_a1")
    r = web.client.post(
        f"/users/{uid}/active", data={"csrf_token": web.csrf, "active": "0"}, follow_redirects=False
    )
    assert r.status_code == 303 and "done=disabled" in r.headers["location"]
    r = web2.client.get("/desk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert web2.sign_in("site_a1").status_code == 401
    web.client.post(f"/users/{uid}/active", data={"csrf_token": web.csrf, "active": "1"})
    r = web.client.post(
        f"/users/{uid}/reset", data={"csrf_token": web.csrf, "password": "1234567890"}
    )
    assert r.status_code == 422 and 'data-rule="too_common"' in r.text
    r = web.client.post(
        f"/users/{uid}/reset",
        data={"csrf_token": web.csrf, "password": NEW},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert web2.sign_in("site_a1", PASSWORD).status_code == 401
    r = web2.sign_in("site_a1", NEW)
    assert r.headers["location"] == "/password"
    other = _uid(platform, "site_b1")
    r = web.client.post(f"/users/{other}/active", data={"csrf_token": web.csrf, "active": "0"})
    assert r.status_code == 404


def test_the_audit_page_searches_pages_and_exports(web: Web, platform: Platform) -> None:
    web.sign_in("prov_a")
    web.page("/users")
    uid = _uid(platform, "site_a1")
    for active in ("0", "1", "0"):
        web.client.post(f"/users/{uid}/active", data={"csrf_token": web.csrf, "active": active})
    r = web.client.get("/audit?action=user")
    assert r.status_code == 200
    assert r.text.count('class="action">user.') == 3
    r = web.client.get("/audit?from=2026-13-01&user=prov_a")
    assert r.status_code == 422 and 'data-field="from"' in r.text and 'value="prov_a"' in r.text
    r = web.client.get("/audit.csv?action=user.disable")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["action"] for row in rows] == ["user.disable", "user.disable"]
    assert all(row["username"] == "prov_a" for row in rows)


def test_an_htmx_request_of_a_user_with_a_password_to_change_is_redirected(
    web: Web, platform: Platform
) -> None:
    web.sign_in("central")
    web.page("/users")
    uid = _uid(platform, "ward_a1")
    web.client.post(f"/users/{uid}/reset", data={"csrf_token": web.csrf, "password": NEW})
    web.client.cookies.clear()
    assert web.sign_in("ward_a1", NEW).headers["location"] == "/password"
    web.page("/password")
    r = web.htmx("/worklist/bulk-accept", {"ids": "1"})
    assert r.status_code == 204 and r.headers["hx-redirect"] == "/password"


def test_a_province_changes_a_role_and_area_within_its_province_only(
    web: Web, web2: Web, platform: Platform
) -> None:
    assert web2.sign_in("ward_a1").status_code == 303
    web.sign_in("prov_a")
    r = web.page("/users")
    uid = _uid(platform, "ward_a1")
    # the row's form offers the roles a province may grant, filled with the user's area
    assert f'action="/users/{uid}/change"' in r.text
    assert f'id="ward_code-{uid}" name="ward_code" type="text" value="{world().wards["a1"]}"' in (
        r.text
    )
    form = {"csrf_token": web.csrf, "role": "commune", "ward_code": world().wards["b1"]}
    r = web.client.post(f"/users/{uid}/change", data=form)
    # another province's ward: refused in place, in the row's open form, what was typed kept
    assert r.status_code == 403
    assert 'id="change-problems"' in r.text and 'data-rule="grant_out_of_area"' in r.text
    assert 'id="problems"' not in r.text  # not above the list: in the row
    assert f'value="{world().wards["b1"]}"' in r.text
    assert "Chỉ được cấp quyền trong tỉnh của mình (01)" in r.text
    r = web.client.post(f"/users/{uid}/change", data=form | {"role": "central", "ward_code": ""})
    assert r.status_code == 403 and "không được cấp vai trò trung ương" in r.text
    r = web.client.post(
        f"/users/{uid}/change",
        data=form | {"role": "province", "ward_code": "", "province_code": "40"},
    )
    assert r.status_code == 403 and 'data-rule="grant_out_of_area"' in r.text
    r = web.client.post(f"/users/{uid}/change", data=form | {"ward_code": "99999"})
    assert r.status_code == 422 and 'data-rule="unknown_ward"' in r.text
    assert 'aria-invalid="true"' in r.text
    r = web.client.post(f"/users/{uid}/change", data=form | {"role": "wizard"})
    assert r.status_code == 422 and 'data-rule="unknown_role"' in r.text
    # the refused changes changed nothing: the user still signs in where it was
    with platform.sessions() as s:
        user = s.scalar(select(User).where(User.id == uid))
        assert user is not None
        assert (user.role, user.ward_code) == ("commune", world().wards["a1"])
    assert web2.client.get("/worklist", follow_redirects=False).status_code == 200
    # the same form sent back unchanged: nothing changes, the user's session goes on
    same = {"csrf_token": web.csrf, "role": "commune", "ward_code": world().wards["a1"]}
    r = web.client.post(f"/users/{uid}/change", data=same, follow_redirects=False)
    assert r.status_code == 303 and "done=unchanged" in r.headers["location"]
    assert web2.client.get("/worklist", follow_redirects=False).status_code == 200
    # within its province: done, audited, and the user's session ends (its role is old)
    r = web.client.post(
        f"/users/{uid}/change",
        data=form | {"ward_code": world().wards["a2"]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "done=changed" in r.headers["location"]
    assert "Đã đổi vai trò hoặc khu vực của ward_a1" in web.client.get(r.headers["location"]).text
    with platform.sessions() as s:
        user = s.scalar(select(User).where(User.id == uid))
        assert user is not None
        assert (user.role, user.ward_code) == ("commune", world().wards["a2"])
    r = web2.client.get("/worklist", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    r = web.client.get("/audit?action=user.update")
    assert r.text.count('class="action">user.update') == 1
    # a user of another province does not exist for this province's page
    other = _uid(platform, "site_b1")
    r = web.client.post(f"/users/{other}/change", data=form)
    assert r.status_code == 404 and 'id="problems"' in r.text
