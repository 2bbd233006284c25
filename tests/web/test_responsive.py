"""Each role's journey on a phone (390×844) and a laptop (1366×768), in Debian's Chromium over
a real `tiemchung serve` of the demo province: on every page the document is no wider than the
window (``scrollWidth <= innerWidth``: no sideways scrolling, no borders through the text), and
axe-core finds no serious or critical accessibility violation.

axe-core is pinned in tests/web/axe/package-lock.json and installed from the npm registry by
``make test`` (``npm ci``), never at run time; Playwright injects its ``axe.min.js`` into each
page (the context bypasses the pages' CSP for that script only in the test browser).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, func, select

from tests.web.conftest import DemoServer
from tests.web.test_browser import HOMES, qr_payload

pytestmark = pytest.mark.slow

SHOTS = os.environ.get("RESPONSIVE_SHOTS")
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
#: The issue's phone and laptop, and the narrowest phone the pages must fit (360-414 px).
SIZES = {"phone": (390, 844), "laptop": (1366, 768), "small-phone": (360, 740)}


@dataclass
class Checks:
    """Every page's findings, collected so that one run lists them all."""

    page: Any
    size: str
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def __call__(self, name: str) -> None:
        pg = self.page
        pg.wait_for_load_state("load")
        self.pages.append(name)
        if SHOTS:  # to look at what was checked: RESPONSIVE_SHOTS=/some/dir
            slug = "".join(ch if ch.isalnum() else "-" for ch in name)
            pg.screenshot(path=f"{SHOTS}/{self.size}-{slug}.png", full_page=True)
        widths = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            wide = pg.evaluate(WIDEST)
            self.problems.append(f"{name}: scrollWidth {widths[0]} > {widths[1]}; {wide}")
        if not pg.evaluate("typeof window.axe !== 'undefined'"):
            pg.add_script_tag(path=str(AXE))
        found = pg.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)"
            ".map(n => n.target.join(' ')).join(' | '))"
        )
        self.problems.extend(f"{name}: axe {v}" for v in found)

    def assert_clean(self) -> None:
        assert self.pages, "no page was checked"
        assert self.problems == [], "\n".join(self.problems)


#: The elements that stick out past the window's right edge (for the failure message).
WIDEST = """() => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > w + 0.5 && r.width > 0) {
      const cls = typeof el.className === 'string' && el.className
        ? '.' + el.className.split(' ').join('.') : '';
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls +
        ' right=' + Math.round(r.right));
    }
  }
  return out.slice(0, 6).join(', ');
}"""


@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make axe` (npm ci in tests/web/axe)")
    return AXE


def _context(browser: Any, size: tuple[int, int]) -> Any:
    return browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        locale="vi-VN",
        bypass_csp=True,  # lets Playwright inject axe-core; the pages' own CSP is tested elsewhere
        # not is_mobile: a mobile viewport zooms out to fit a page that overflows, and would
        # hide the very overflow this test looks for
    )


def sign_in(page: Any, server: DemoServer, role: str) -> None:
    page.goto(f"{server.base}/signin")
    page.fill("#username", server.users[role])
    page.fill("#password", server.password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{server.base}{HOMES[role]}")


def _person(server: DemoServer, index: int) -> dict[str, Any]:
    """A register person of the desk's ward with a full date of birth and a 12-digit ID, few
    doses, and not the one the other browser tests vaccinate."""
    from tiemchung.registry.models import Dose, Person, User

    engine = create_engine(server.database_url)
    try:
        with engine.connect() as c:
            ward = c.execute(
                select(User.ward_code).where(User.username == server.users["site"])
            ).scalar_one()
            doses = (
                select(func.count())
                .where(Dose.person_pk == Person.id)
                .correlate(Person)
                .scalar_subquery()
            )
            rows = (
                c.execute(
                    select(Person)
                    .where(
                        Person.ward_code == ward,
                        Person.dob.like("____-__-__"),
                        func.length(Person.national_id) == 12,
                        Person.person_id != server.person["person_id"],
                    )
                    .order_by(doses, Person.id)
                    .limit(4)
                )
                .mappings()
                .all()
            )
    finally:
        engine.dispose()
    assert len(rows) > index, "the demo's ward has too few people"
    return dict(rows[index])


def _anonymous(page: Any, base: str, check: Checks) -> None:
    page.goto(f"{base}/")
    assert "Nền tảng dữ liệu tiêm chủng" in page.locator("h1").inner_text()
    check("landing")
    page.goto(f"{base}/signin")
    check("sign-in")
    page.fill("#username", "nobody-here")
    page.fill("#password", "wrong")
    page.press("#password", "Enter")
    page.wait_for_selector("#signin-error")
    check("sign-in, wrong password")
    response = page.goto(f"{base}/no/such/page")
    assert response is not None and response.status == 404
    assert "Không tìm thấy trang" in page.locator("h1").inner_text()
    check("404 page")
    page.goto(f"{base}/no/such/page?lang=en")
    check("404 page, English")


def _site(page: Any, server: DemoServer, check: Checks, person: dict[str, Any]) -> None:
    sign_in(page, server, "site")
    expect(page.locator("#scan")).to_be_focused(timeout=15_000)
    check("desk")
    page.fill("#scan", qr_payload(person))
    page.press("#scan", "Enter")
    page.wait_for_selector(".match.status-verified")
    expect(page.locator("#confirm")).to_be_focused(timeout=15_000)
    check("desk: match and dose form")
    page.click("#confirm")
    page.wait_for_selector(".recorded, #result .message.error, #result .field-error")
    check("desk: after recording")


_PREPARED: dict[str, tuple[int, int]] = {}


def _wide_items(server: DemoServer) -> tuple[int, int]:
    """The commune's pages a phone finds hardest, made once per demo: a review item with three
    register candidates (four columns side by side), and a citizen's report about register
    data (a register person of the ward other than the citizen user's, whose report cap the
    citizen journeys use)."""
    if server.base in _PREPARED:
        return _PREPARED[server.base]
    from sqlalchemy.orm import Session

    from tiemchung.registry.models import Dose, Person, ReviewItem, User
    from tiemchung.registry.review import tickets as tk
    from tiemchung.registry.scope import Actor, Role

    engine = create_engine(server.database_url)
    try:
        with Session(engine) as s:
            ward = s.scalar(select(User.ward_code).where(User.role == "commune"))
            people = s.scalars(
                select(Person)
                .where(Person.ward_code == ward, Person.id.in_(select(Dose.person_pk)))
                .where(Person.person_id != server.person["citizen"]["person_id"])
                .order_by(Person.id)
                .limit(4)
            ).all()
            assert len(people) == 4, "the demo's ward has too few vaccinated people"
            dose = s.scalars(select(Dose).where(Dose.person_pk == people[0].id)).first()
            assert dose is not None
            many = ReviewItem(
                dose_id=dose.id,
                kind="review",
                reason="test: three candidates",
                ward_code=ward,
                province_code=people[0].province_code,
                person_pk=people[0].id,
                match_probability=0.996,
                mismatches="full_name;dob",
                candidates=[
                    {
                        "person_id": p.person_id,
                        "match_probability": share,
                        "mismatches": ["full_name", "dob"],
                        "corrections": {},
                    }
                    for p, share in zip(people[:3], (0.996, 0.012, 0.004), strict=True)
                ],
                explanation="name jw>=0.92 +6.1; dob exact +9.2; ward exact +0.0",
                status="open",
            )
            s.add(many)
            s.flush()
            reporter = people[3]
            actor = Actor(user_id=None, username="test", role=Role.CITIZEN, person_pk=reporter.id)
            req = tk.TicketRequest(
                field="full_name",
                proposed_value=reporter.full_name + " Uyên",
                message="Giấy khai sinh ghi khác tên trong sổ dân cư, xin sửa lại cho đúng",
            )
            ticket = tk.open_ticket(s, actor, req, today=dose.dose_date)
            s.commit()
            _PREPARED[server.base] = (many.id, int(ticket["review_item_id"]))
    finally:
        engine.dispose()
    return _PREPARED[server.base]


#: Boxes inside the page that scroll sideways, hiding part of what they hold (the visually
#: hidden table heads of the phone's card layout, 1 px wide, are not boxes anyone reads).
HIDDEN_SCROLL = """() => [...document.querySelectorAll('main *')]
  .filter(el => el.clientWidth > 1 && el.scrollWidth > el.clientWidth + 1
    && ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX))
  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + el.scrollWidth
    + '>' + el.clientWidth)"""


def _commune(page: Any, server: DemoServer, check: Checks) -> None:
    many, report = _wide_items(server)
    sign_in(page, server, "commune")
    pages = {"worklist": "/worklist"}
    first = page.locator("table.wl a[data-nav]").first
    pages["worklist item"] = str(first.get_attribute("href"))
    pages["worklist item, three candidates"] = f"/worklist/{many}"
    pages["worklist item, a citizen's report"] = f"/worklist/{report}"

    def fits(name: str) -> None:
        check(name)
        # every column readable where it is: no table scrolling sideways inside its box
        hidden = page.evaluate(HIDDEN_SCROLL)
        check.problems.extend(
            f"{name}: scrolls inside its box, hiding columns: {h}" for h in hidden
        )

    for name, path in pages.items():
        page.goto(f"{server.base}{path}")
        fits(name)
    # the import report: the export sent back undecided, every row skipped (nothing changes)
    page.goto(f"{server.base}/worklist")
    with page.expect_download() as download:
        page.click("#export")
    page.set_input_files("#sheet", download.value.path())
    page.click(".upload button[type=submit]")
    page.wait_for_selector("#import-summary")
    page.click("#import-skipped summary")  # unfolded, the skipped rows must fit too
    fits("worklist import report")
    page.goto(f"{server.base}/worklist/{many}")
    assert page.locator("table.compare.side thead th").count() == 5  # 3 candidates
    page.goto(f"{server.base}/worklist/{report}")
    assert page.locator("#ticket-compare").count() == 1


def _dashboard(page: Any, server: DemoServer, check: Checks, role: str) -> None:
    sign_in(page, server, role)
    page.wait_for_selector("svg.chart")
    check(f"dashboard ({role})")
    page.goto(f"{server.base}/users")  # issue 17: the users and audit pages of these roles
    page.wait_for_selector("#users")
    check(f"users ({role})")
    page.goto(f"{server.base}/audit?action=auth")
    page.wait_for_selector("#events")
    check(f"audit log ({role})")
    page.goto(f"{server.base}/password")
    check(f"change password ({role})")


#: The field each run reports (one open ticket per field and person).
REPORTED = {
    "phone": ("dob", None),
    "laptop": ("address", "Xóm 3, Thôn Đông"),
    "small-phone": ("full_name", "Phùng Đức Dũng"),
}


def _citizen(page: Any, server: DemoServer, check: Checks, size: str) -> None:
    base = server.base
    me = server.person["citizen"]
    y, m, d = me["dob"].split("-")
    page.goto(f"{base}/lookup")
    check("look-up")
    page.fill("#national_id", "040000000001")
    page.fill("#dob", "01/01/1990")
    page.press("#dob", "Enter")
    page.wait_for_selector("#lookup-error")
    expect(page.locator("#lookup-error")).to_be_focused(timeout=15_000)
    check("look-up: not found")
    page.fill("#national_id", me["national_id"])
    page.fill("#dob", f"{d}/{m}/{y}")
    page.press("#dob", "Enter")
    page.wait_for_url(f"{base}/lookup/record")
    check("citizen record")
    page.click("#report-box summary")
    page.select_option("#r-field", "dob")
    page.fill("#r-value", "31/02/1990")  # no such day: the form says so
    page.click("#report-send")
    expect(page.locator("#report-error")).to_be_focused(timeout=15_000)
    check("citizen report: refused")
    field, value = REPORTED[size]
    page.select_option("#r-field", field)
    page.fill("#r-value", value or f"{d}/{m}/{int(y) - 1}")
    page.click("#report-send")
    expect(page.locator("#ticket-opened")).to_be_focused(timeout=15_000)
    check("citizen report: sent")
    page.context.clear_cookies()
    sign_in(page, server, "citizen")
    check("/me")


JOURNEYS = [
    "anonymous",
    "site",
    "commune",
    "citizen",
    "province",
    "central",
]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("journey", JOURNEYS)
def test_journey_fits_and_is_accessible(
    browser: Any, demo_server: DemoServer, axe_path: Path, journey: str, size: str
) -> None:
    context = _context(browser, SIZES[size])
    page = context.new_page()
    check = Checks(page, size)
    try:
        if journey == "anonymous":
            _anonymous(page, demo_server.base, check)
        elif journey == "site":
            _site(page, demo_server, check, _person(demo_server, list(SIZES).index(size)))
        elif journey == "commune":
            _commune(page, demo_server, check)
        elif journey == "citizen":
            _citizen(page, demo_server, check, size)
        else:
            _dashboard(page, demo_server, check, journey)
    finally:
        context.close()
    check.assert_clean()


def test_the_checks_catch_overflow_and_violations(browser: Any, axe_path: Path) -> None:
    """The two checks can fail: a page wider than a phone, with a button that has no name
    and an image without alternative text, is reported for all three."""
    context = _context(browser, SIZES["phone"])
    page = context.new_page()
    try:
        page.set_content(
            '<!doctype html><html lang="vi"><head><title>x</title></head>'
            '<body style="margin:0"><main>'
            '<div style="width:600px">rộng</div><button></button>'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            "</main></body></html>"
        )
        check = Checks(page, "phone")
        check("bad page")
    finally:
        context.close()
    found = "\n".join(check.problems)
    assert "scrollWidth 600 > 390" in found
    assert "axe button-name (critical)" in found
    assert "axe image-alt (critical)" in found
