"""The registration pages in process (both backends): the public application form, an
organisation's upload with each row's result, fix and withdraw, and the self-registration
with its one-time code (read back from the outbox, as the SMS would carry it)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import PASSWORD, world
from tests.web.conftest import Web
from tiemchung.auth.orgusers import add_organisation_user
from tiemchung.core import Platform
from tiemchung.registry.people.registration import organisations as orgs
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.messages import OutboxMessage
from tiemchung.registry.tables.registrations import Organisation, RegistrationSource

CSV = (
    "Họ và tên,Ngày sinh,Số CCCD,Nhóm ưu tiên\n"
    "Nguyễn Văn An,12/04/1985,001085123456,NQ21-08\n"
    "Tran Thi Binh,02/11/1990,001190654321,NQ21-08\n"
)


def _groups(platform: Platform) -> None:
    with platform.sessions() as s:
        load_priority_groups(s)
        s.commit()


def test_apply_then_upload_fix_and_withdraw(web: Web, platform: Platform) -> None:
    _groups(platform)
    assert web.page("/organisations/apply").status_code == 200
    bad = web.client.post("/organisations/apply", data={
        "csrf_token": web.csrf, "name": "Chợ Giả Định", "code": "0101234567", "kind": "market",
        "ward_code": "99999"})  # fmt: skip
    assert bad.status_code == 422 and 'data-field="ward_code"' in bad.text
    assert 'value="Chợ Giả Định"' in bad.text  # what was typed comes back
    ok = web.client.post("/organisations/apply", data={
        "csrf_token": web.csrf, "name": "Chợ Giả Định", "code": "0101234567", "kind": "market",
        "ward_code": world().wards["a1"]})  # fmt: skip
    assert ok.status_code == 201 and 'id="done"' in ok.text
    with platform.sessions() as s:
        org_id = s.scalars(select(Organisation.id)).one()
        orgs.decide(s, Actor.system("tests"), org_id, approve=True)
        add_organisation_user(s, Actor.system("tests"), org_id, "cho-hr", PASSWORD)
        s.commit()
    assert web.sign_in("cho-hr").headers["location"] == "/organisation"
    page = web.page("/organisation")
    assert page.status_code == 200 and "Chợ Giả Định" in page.text
    r = web.client.post(
        "/organisation/upload",
        data={"csrf_token": web.csrf},
        files={"file": ("list.csv", CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = web.page(r.headers["location"])
    results = re.findall(r'<tr id="row-(\d+)" data-result="(\w+)"', page.text)
    assert [res for _i, res in results] == ["verified", "mismatch"]
    binh = results[1][0]
    r = web.client.post(f"/organisation/rows/{binh}/fix", data={
        "csrf_token": web.csrf, "full_name": "Trần Thị Bình"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = web.client.post(f"/organisation/rows/{results[0][0]}/withdraw",
                        data={"csrf_token": web.csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with platform.sessions() as s:
        rows = s.scalars(select(RegistrationSource).order_by(RegistrationSource.id)).all()
        assert [(r.result, r.withdrawn_at is not None) for r in rows] == [
            ("verified", True),
            ("verified", False),
        ]
    # a staff user has no organisation page
    web.sign_in("ward_a1")
    assert web.page("/organisation").status_code == 403


def test_self_registration_with_the_code(web: Web, platform: Platform) -> None:
    _groups(platform)
    page = web.page("/register")
    assert page.status_code == 200 and "NQ21-09" in page.text
    form = {"csrf_token": web.csrf, "national_id": "001085123456", "full_name": "Nguyễn Văn An",
            "dob": "12/04/1985", "phone": "0912000001", "priority_group": "NQ21-09"}  # fmt: skip
    bad = web.client.post("/register", data=form | {"dob": "31/02/1985"})
    assert bad.status_code == 422 and 'data-field="dob"' in bad.text
    r = web.client.post("/register", data=form | {"underlying_condition": "1"})
    assert r.status_code == 200 and 'id="code-form"' in r.text
    code_id = re.search(r'name="code_id" value="(\d+)"', r.text)
    assert code_id is not None
    with platform.sessions() as s:
        body = s.scalars(select(OutboxMessage.body)).one()
    code = re.search(r"\b(\d{6})\b", body)
    assert code is not None
    data = {"csrf_token": web.csrf, "code_id": code_id.group(1), "phone": "091****001"}
    wrong = web.client.post("/register/confirm", data=data | {"code": "00000" + "x"})
    assert wrong.status_code == 422 and 'data-rule="wrong_code"' in wrong.text
    done = web.client.post("/register/confirm", data=data | {"code": code.group(1)})
    assert done.status_code == 200 and 'data-result="verified"' in done.text


def test_the_ward_decides_on_its_page(web: Web, platform: Platform) -> None:
    with platform.sessions() as s:
        org = orgs.apply(s, Actor.system("tests"), orgs.Application(
            "Trường Giả Định", "0105550001", "school", world().wards["a1"]))  # fmt: skip
        s.commit()
        org_id = org.id
    web.sign_in("ward_b1")
    assert f'id="org-{org_id}"' not in web.page("/organisations").text  # another ward's
    web.sign_in("ward_a1")
    page = web.page("/organisations")
    assert page.status_code == 200 and f'id="org-{org_id}"' in page.text
    refused = web.client.post(f"/organisations/{org_id}/decision",
                              data={"csrf_token": web.csrf, "approve": "0"})  # fmt: skip
    assert refused.status_code == 422 and 'data-field="note"' in refused.text
    data = {"csrf_token": web.csrf, "approve": "1"}
    r = web.client.post(f"/organisations/{org_id}/decision", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/organisations?done=approved"
    with platform.sessions() as s:
        assert s.get(Organisation, org_id).status == "approved"  # type: ignore[union-attr]
    web.sign_in("site_a1")
    assert web.page("/organisations").status_code == 403
