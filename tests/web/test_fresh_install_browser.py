"""Issue 17's "Done when" as a browser test: from a fresh ``tiemchung init`` (no demo, no test
seed) served by a real ``tiemchung serve``, in Debian's Chromium at a phone's width and a
desktop's. A province user (made by ``tiemchung users add``, as an installer would) creates
a site on the sites page, receives a lot on the lots page (an expired one is refused there,
naming it), adds a site user on the users page; the site user changes the password it was
given, plans and opens today's session, records a dose at the desk for a register person
(the register comes in through ``tiemchung register import``), sees one dose less on the
stock page, and the desk refuses an expired lot with a message naming it.

The expired lot at the desk is one the site received before it expired: no page (nor the
API) takes an expired delivery today, so it is recorded through the same ``receive_lot``
with the day of its delivery in 2021, as ``tests/api/test_fresh_install.py`` does."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.web.conftest import CHROMIUM, served
from tests.web.test_responsive import Checks
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.models import AdminUnit
from tiemchung.registry.scope import Actor

pytestmark = pytest.mark.slow

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
PROVINCE = "40"  # Nghệ An: its wards come with `tiemchung init`
PROVINCE_USER, PASSWORD = "tinh-nghe-an", "Sen-hong-ven-ho-2026"
TEMPORARY, CHOSEN = "Hoa-sen-no-7-giua-dam", "Cau-vong-sau-mua-42"
#: invented register persons (ID numbers of Nghệ An's prefix), two per width: one is
#: vaccinated, the other is refused the expired lot
PEOPLE = {
    "phone": [("R-1", "040090111001", "Lê Thị Mai", "1990-03-05", "F"),
              ("R-2", "040085111002", "Hồ Văn Nam", "1985-07-21", "M")],
    "desktop": [("R-3", "040192111003", "Trần Thị Lan", "1992-11-30", "F"),
                ("R-4", "040078111004", "Đặng Văn Hùng", "1978-01-09", "M")],
}  # fmt: skip


@dataclass
class Fresh:
    base: str
    settings: Settings
    ward: str


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tiemchung.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout + done.stderr  # the console's messages go to either


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fresh]:
    """A bare database set up by the CLI alone (``init``, one province user, a register
    file of four persons), served by ``tiemchung serve``."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash scripts/system-packages)")
    directory = tmp_path_factory.mktemp("fresh")
    url = f"sqlite:///{directory / 'tiemchung.db'}"
    env = dict(os.environ, TIEMCHUNG_DATA_DIR=str(directory), TIEMCHUNG_DATABASE_URL=url)
    _cli(env, "init")
    settings = Settings(data_dir=directory, database_url=url)
    with Platform(settings) as platform, platform.sessions() as s:
        ward = s.scalar(
            select(AdminUnit.code)
            .where(
                AdminUnit.scheme == "2021",
                AdminUnit.level == "ward",
                AdminUnit.province_code == PROVINCE,
            )
            .order_by(AdminUnit.code)
        )
    assert ward is not None
    _cli(env, "users", "add", PROVINCE_USER, "--role", "province", "--province", PROVINCE,
         "--password", PASSWORD)  # fmt: skip
    register = directory / "register.csv"
    with register.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["person_id", "national_id", "full_name", "dob", "sex", "ward_code"])
        out.writerows([*p, ward] for people in PEOPLE.values() for p in people)
    assert "4 persons imported" in _cli(env, "register", "import", str(register))
    with served(directory, url) as base:
        yield Fresh(base, settings, ward)


@pytest.fixture(scope="module")
def chromium(fresh: Fresh, browser: Any) -> Any:
    """The suite's one browser (tests/web/conftest.py): a second Playwright in the same
    process finds the first one's event loop running and refuses to start."""
    return browser


def _sign_in(page: Any, base: str, username: str, password: str, lands: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}{lands}")


def _on_hand(page: Any, base: str, lot: str, site: str) -> int:
    page.goto(f"{base}/stock")
    cell = page.locator(f'#stock-table tr[data-lot="{lot}"][data-place="{site}"] [data-on-hand]')
    return int(cell.inner_text().strip())


def _received_in_2021(settings: Settings, site: str, lot: str) -> None:
    """A delivery of a lot that has expired since: received while it was still good."""
    receipt = LotReceipt(
        "PFIZER", lot, date(2021, 12, 31), site, 20,
        note="delivered in 2021", received_at=datetime(2021, 6, 1, 3, tzinfo=UTC),
    )  # fmt: skip
    with Platform(settings) as platform, platform.sessions() as s:
        receive_lot(s, Actor.system("test"), receipt, today=date(2021, 6, 1))
        s.commit()


@pytest.mark.parametrize("size", list(SIZES))
def test_done_when_in_the_browser(chromium: Any, fresh: Fresh, size: str) -> None:
    width, height = SIZES[size]
    base = fresh.base
    site, nurse = f"TYT-{size.upper()}", f"nurse-{size}"
    lot, old_lot = f"FR-{size.upper()}", f"OLD-{size.upper()}"
    given, refused = PEOPLE[size]
    contexts = [
        chromium.new_context(
            viewport={"width": width, "height": height}, locale="vi-VN", bypass_csp=True
        )
        for _ in range(2)
    ]
    try:
        page = contexts[0].new_page()
        check = Checks(page, f"{width}px")
        _sign_in(page, base, PROVINCE_USER, PASSWORD, "/dashboard")

        # the province creates a site, a ward of its own picked from the list
        page.click('header nav a[href="/sites"]')
        page.wait_for_url(f"{base}/sites")
        page.fill("#site_id", site)
        page.fill("#name", f"Trạm Y tế {size}")
        page.select_option("#kind", "commune_health_station")
        page.select_option("#ward_code", fresh.ward)
        page.click("#create-site button[type=submit]")
        expect(page.locator("#done")).to_contain_text(site)
        expect(page.locator(f'tr[data-site="{site}"] .state')).to_have_text("Đang hoạt động")
        page.click(f'tr[data-site="{site}"] summary')  # the edit form, open, fits too
        expect(page.locator(f"#name-{site}")).to_have_value(f"Trạm Y tế {size}")
        check("sites")

        # receives a lot; an expired delivery is refused, naming the lot
        page.click('header nav a[href="/lots"]')
        page.wait_for_url(f"{base}/lots")
        page.select_option("#site_id", site)
        page.select_option("#product_code", "PFIZER")
        page.fill("#lot_number", lot)
        page.fill("#expiry", "2099-12-31")
        page.fill("#doses", "5")
        page.click("#receive button[type=submit]")
        expect(page.locator("#done")).to_contain_text(lot)
        expect(page.locator(f'tr[data-lot="{lot}"] [data-site="{site}"]')).to_have_text(
            f"{site}: 5"
        )
        page.select_option("#site_id", site)
        page.fill("#lot_number", old_lot)
        page.fill("#expiry", "2021-12-31")
        page.fill("#doses", "20")
        page.click("#receive button[type=submit]")
        problem = page.locator('#problems li[data-field="expiry"]')
        expect(problem).to_contain_text(f"Lô {old_lot} đã hết hạn ngày 31/12/2021")
        assert page.input_value("#lot_number") == old_lot  # what was typed is kept
        check("lots refused")
        _received_in_2021(fresh.settings, site, old_lot)
        page.click('header nav a[href="/products"]')
        page.wait_for_url(f"{base}/products")
        expect(page.locator('tr[data-product="PFIZER"] .state')).to_have_text("Đang dùng")
        check("products")

        # adds the site's user
        page.click('header nav a[href="/users"]')
        page.wait_for_url(f"{base}/users")
        page.fill("#username", nurse)
        page.fill("#password", TEMPORARY)
        page.select_option("#role", "site")
        page.fill("#site_id", site)
        page.click("#create-user button[type=submit]")
        expect(page.locator("#done")).to_contain_text(nurse)

        # the site user: a password of its own, then today's session planned and opened
        desk = contexts[1].new_page()
        _sign_in(desk, base, nurse, TEMPORARY, "/password")
        desk.fill("#old_password", TEMPORARY)
        desk.fill("#new_password", CHOSEN)
        desk.fill("#confirm", CHOSEN)
        desk.click("form[action='/password'] button[type=submit]")
        desk.wait_for_url(f"{base}/desk?password=changed")
        nurse_check = Checks(desk, f"{width}px")
        assert _on_hand(desk, base, lot, site) == 5
        nurse_check("stock before")
        desk.click('header nav a[href="/sessions"]')
        desk.wait_for_url(f"{base}/sessions")
        desk.fill("#products", "PFIZER")
        desk.fill("#lot_numbers", lot)
        desk.fill("#time_slots", "07:30-11:00=5")
        desk.click("#plan-submit")
        desk.wait_for_url("**/sessions?week=*")
        planned = desk.locator('article.session[data-status="planned"]')
        expect(planned).to_have_count(1)
        session_id = planned.get_attribute("data-session")
        planned.locator("[data-open]").click()
        card = desk.locator(f'article.session[data-session="{session_id}"]')
        expect(card).to_have_attribute("data-status", "open")

        # a dose at the desk for a register person, typed as the ID number
        desk.click('header nav a[href="/desk"]')
        desk.wait_for_url(f"{base}/desk")
        desk.fill("#scan", given[1])
        desk.press("#scan", "Enter")
        desk.wait_for_selector(".match.status-verified")
        assert desk.input_value("#f-session") == session_id
        desk.fill("#f-lot", lot)
        desk.click("#confirm")
        desk.wait_for_selector(".recorded")
        nurse_check("desk recorded")
        assert _on_hand(desk, base, lot, site) == 4  # one dose less

        # the expired lot is refused at the desk, naming it; the stock stays as it was
        desk.goto(f"{base}/desk")
        desk.fill("#scan", refused[1])
        desk.press("#scan", "Enter")
        desk.wait_for_selector(".match.status-verified")
        desk.fill("#f-lot", old_lot)
        desk.click("#confirm")
        error = desk.locator("#f-lot ~ .field-error")
        expect(error).to_contain_text(f"Lô vắc xin {old_lot} đã hết hạn ngày 31/12/2021")
        nurse_check("desk refused")
        assert _on_hand(desk, base, lot, site) == 4
        assert _on_hand(desk, base, old_lot, site) == 20

        check.assert_clean()
        nurse_check.assert_clean()
    finally:
        for context in contexts:
            context.close()
