"""Issue 18's pages in Debian's Chromium over a real `tiemchung serve` of the demo
province, at a phone's width and a laptop's: an organisation applies on the public form, is
approved, its user uploads a list and sees each row's result (a register person verified, a
garbled row rejected with its reason) and withdraws a row; a person registers themselves and
confirms with the code the SMS would carry. No page is wider than the window."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.web.conftest import DemoServer
from tiemchung.auth.orgusers import add_organisation_user
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.models import User
from tiemchung.registry.people.registration import organisations as orgs
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.messages import OutboxMessage
from tiemchung.registry.tables.registrations import Organisation

pytestmark = pytest.mark.slow

SIZES = {"phone": (390, 844), "laptop": (1366, 768)}
ORG_PASSWORD = "Cho-ben-thanh-2021-dang-ky"


def _fits(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def _platform(server: DemoServer) -> Platform:
    return Platform(Settings(data_dir=server.data_dir, database_url=server.database_url))


def _commune_ward(server: DemoServer) -> str:
    with _platform(server) as platform, platform.sessions() as s:
        ward = s.scalar(select(User.ward_code).where(User.username == server.users["commune"]))
    assert ward
    return str(ward)


def _dmy(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


@pytest.mark.parametrize("size", sorted(SIZES))
def test_organisation_applies_and_uploads(
    browser: Any, demo_server: DemoServer, size: str, tmp_path: Path
) -> None:
    width, height = SIZES[size]
    code = "010000001" + ("1" if size == "phone" else "2")
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        page = ctx.new_page()
        page.goto(f"{demo_server.base}/organisations/apply")
        _fits(page)
        page.fill("#name", f"Công ty Giả Định {size}")
        page.fill("#code", code)
        page.select_option("#kind", "company")
        page.fill("#ward_code", _commune_ward(demo_server))
        page.fill("#contact_phone", "0912345678")
        page.click("#apply-submit")
        expect(page.locator("#done")).to_contain_text(f"Công ty Giả Định {size}")
        with _platform(demo_server) as platform, platform.sessions() as s:
            org_id = s.scalar(select(Organisation.id).where(Organisation.code == code))
            assert org_id is not None
            orgs.decide(s, Actor.system("tests"), org_id, approve=True)
            add_organisation_user(s, Actor.system("tests"), org_id, f"hr-{size}", ORG_PASSWORD)
            s.commit()
        page.goto(f"{demo_server.base}/signin")
        page.fill("#username", f"hr-{size}")
        page.fill("#password", ORG_PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url(f"{demo_server.base}/organisation")
        _fits(page)
        p = demo_server.person
        csv_path = tmp_path / "danh-sach.csv"
        csv_path.write_text(
            "Họ và tên,Ngày sinh,Số CCCD,Nhóm ưu tiên\n"
            f"{p['full_name']},{_dmy(p['dob'])},{p['national_id']},NQ21-07\n"
            "Ai Đó,31/02/2020,,\n",
            encoding="utf-8",
        )
        page.set_input_files("#file", str(csv_path))
        page.click("#upload-submit")
        expect(page.locator("#done")).to_be_visible()
        rows = page.locator("#row-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("data-result", "verified")
        expect(rows.nth(1)).to_have_attribute("data-result", "rejected")
        expect(rows.nth(1).locator(".reasons li").first).to_be_visible()
        _fits(page)
        rows.nth(1).locator("button.withdraw").click()
        expect(page.locator("#done")).to_be_visible()
        expect(page.locator("#row-table tbody tr").nth(1)).to_contain_text("đã rút")
        _fits(page)
    finally:
        ctx.close()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_person_registers_with_a_code(browser: Any, demo_server: DemoServer, size: str) -> None:
    width, height = SIZES[size]
    phone = "0987000011" if size == "phone" else "0987000022"
    me = demo_server.person["citizen"]
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        page = ctx.new_page()
        page.goto(f"{demo_server.base}/register")
        _fits(page)
        page.fill("#national_id", me["national_id"])
        page.fill("#full_name", me["full_name"])
        page.fill("#dob", _dmy(me["dob"]) if len(me["dob"]) == 10 else me["dob"])
        page.fill("#phone", phone)
        page.select_option("#priority_group", "NQ21-09")
        page.check("#underlying_condition")
        page.click("#self-submit")
        expect(page.locator("#code-sent")).to_be_visible()
        _fits(page)
        with _platform(demo_server) as platform, platform.sessions() as s:
            body = s.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.phone == phone, OutboxMessage.kind == "otp")
                .order_by(OutboxMessage.id.desc())
            ).first()
        found = re.search(r"\b(\d{6})\b", body or "")
        assert found is not None, body
        page.fill("#code", found.group(1))
        page.click("#code-submit")
        expect(page.locator("#done")).to_have_attribute("data-result", "verified")
        _fits(page)
    finally:
        ctx.close()
