"""The sites, lots and catalogue pages (both backends), over the tests' seeded world: each
form's refusals come back in place with the service's words (in both languages) and what was
typed; scoping is the services' (a commune cannot place a site in another ward, a site cannot
receive at another site, only central edits the catalogue); every write is audited."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from tests.factories import world
from tests.web.conftest import Web
from tiemchung.core import Platform
from tiemchung.registry.catalog.stock import stock_left
from tiemchung.registry.models import AuditEvent, Lot, Product, Site


def _post(web: Web, path: str, data: dict[str, str]) -> httpx.Response:
    return web.client.post(path, data=data | {"csrf_token": web.csrf}, follow_redirects=False)


def _rules(html: str) -> list[tuple[str, str]]:
    """(field, rule) of each problem the page lists."""
    return re.findall(r'<li data-field="([^"]+)" data-rule="([^"]+)"', html)


def _row(html: str, attr: str, key: str) -> str:
    found = re.search(rf'<tr {attr}="{re.escape(key)}".*?</tr>', html, re.S)
    assert found is not None, key
    return found.group(0)


def _audited(platform: Platform, action: str) -> list[AuditEvent]:
    with platform.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_province_creates_edits_and_closes_a_site(web: Web, platform: Platform) -> None:
    w = world()
    web.sign_in("prov_a")
    page = web.page("/sites").text
    # its own province's wards are offered to pick from, another province's are not
    assert f'<option value="{w.wards["a2"]}"' in page
    assert f'<option value="{w.wards["b1"]}"' not in page
    assert 'data-site="S-A1"' in page and 'data-site="S-B1"' not in page

    new = {"site_id": "LD-A2", "name": "Đội  lưu động A2", "kind": "mobile_team"}
    r = _post(web, "/sites", new | {"ward_code": w.wards["a2"]})
    assert r.status_code == 303 and r.headers["location"].startswith("/sites?done=created")
    page = web.page(r.headers["location"]).text
    assert 'id="done"' in page and "LD-A2" in page
    row = _row(page, "data-site", "LD-A2")
    assert "Đội lưu động A2" in row and "Đội tiêm lưu động" in row and w.wards["a2"] in row
    with platform.sessions() as s:
        site = s.get(Site, "LD-A2")
        assert site is not None and site.province_code == "01" and site.kind == "mobile_team"
    (event,) = _audited(platform, "site.create")
    assert event.username == "prov_a" and event.entity_id == "LD-A2"

    # the same ID again: 409 in the create form, what was typed kept
    again = _post(web, "/sites", new | {"ward_code": w.wards["a2"]})
    assert again.status_code == 409 and _rules(again.text) == [("site_id", "site_exists")]
    assert 'value="Đội  lưu động A2"' in again.text and 'aria-invalid="true"' in again.text

    # edit: the name and the ward (another province's ward is refused, nothing changed)
    out = _post(web, "/sites/LD-A2", {"name": "Đội A2", "kind": "", "ward_code": w.wards["b1"]})
    assert out.status_code == 403 and _rules(out.text) == [("ward_code", "out_of_area")]
    assert re.search(r"<details class=\"report\" open>\s*<summary>[^<]*</summary>\s*<form "
                     r'method="post" action="/sites/LD-A2"', out.text)  # fmt: skip
    done = _post(web, "/sites/LD-A2", {"name": "Đội A2", "kind": "", "ward_code": w.wards["a1"]})
    assert done.status_code == 303
    with platform.sessions() as s:
        site = s.get(Site, "LD-A2")
        assert site is not None and (site.name, site.ward_code) == ("Đội A2", w.wards["a1"])
        assert site.kind == "mobile_team"  # left empty: unchanged

    closed = _post(web, "/sites/LD-A2/close", {})
    assert closed.status_code == 303
    page = web.page("/sites").text
    row = _row(page, "data-site", "LD-A2")
    assert 'data-active="no"' in row and "Đã đóng" in row and "/sites/LD-A2/close" not in row
    assert platform.catalog.site("LD-A2").active is False  # type: ignore[union-attr]
    assert len(_audited(platform, "site.close")) == 1
    # a site of another province is not there to close: said on top of the page
    other = _post(web, "/sites/S-B1/close", {})
    assert other.status_code == 404 and _rules(other.text) == [("site_id", "not_found")]
    assert "Không tìm thấy điểm tiêm S-B1" in other.text
    assert platform.catalog.site("S-B1").active is True  # type: ignore[union-attr]


def test_a_commune_places_a_site_only_in_its_ward(web: Web, platform: Platform) -> None:
    w = world()
    web.sign_in("ward_a1")
    page = web.page("/sites").text
    offered = re.findall(r'<select id="ward_code".*?</select>', page, re.S)[0]
    assert re.findall(r'<option value="(\d+)"', offered) == [w.wards["a1"]]
    typed = {"site_id": "TYT-X", "name": "Trạm X", "kind": "workplace"}
    r = _post(web, "/sites", typed | {"ward_code": w.wards["a2"]})
    assert r.status_code == 403 and _rules(r.text) == [("ward_code", "out_of_area")]
    assert "Phường/xã nằm ngoài địa bàn của bạn" in r.text
    assert 'value="TYT-X"' in r.text and 'value="Trạm X"' in r.text
    # a blank name, no ward and an unknown kind at once: all said, in English on an
    # English page
    web.client.cookies.set("lang", "en")
    r = _post(web, "/sites", {"site_id": "TYT-X", "name": " ", "kind": "tent", "ward_code": ""})
    assert r.status_code == 422
    assert sorted(_rules(r.text)) == [
        ("kind", "unknown_kind"),
        ("name", "invalid_name"),
        ("ward_code", "unknown_ward"),
    ]
    assert "unknown site kind &#39;tent&#39;" in r.text
    assert "Loại điểm tiêm &#39;tent&#39; không hợp lệ" not in r.text
    with platform.sessions() as s:
        assert s.get(Site, "TYT-X") is None


def test_a_site_user_sees_its_site_and_no_forms(web: Web) -> None:
    web.sign_in("site_a1")
    page = web.page("/sites")
    assert page.status_code == 200 and 'data-site="S-A1"' in page.text
    assert 'data-site="S-A2"' not in page.text and 'id="create-site"' not in page.text
    assert 'href="/sites"' not in page.text.split("</nav>")[0]  # no nav link for a site
    w = world()
    r = _post(web, "/sites", {"site_id": "X", "name": "X", "kind": "hospital",
                              "ward_code": w.wards["a1"]})  # fmt: skip
    assert r.status_code == 403


def test_receive_and_transfer_lots(web: Web, platform: Platform) -> None:
    web.sign_in("site_a1")
    stock = web.page("/stock").text
    assert 'href="/lots"' in stock
    page = web.page("/lots").text
    assert re.findall(r'<select id="site_id".*?</select>', page, re.S)[0].count("<option") == 1
    delivery = {"site_id": "S-A1", "product_code": "PFIZER", "lot_number": "FW-1",
                "expiry": "2099-12-31", "doses": "10", "note": "CDC tỉnh"}  # fmt: skip
    r = _post(web, "/lots", delivery)
    assert r.status_code == 303, r.text
    page = web.page(r.headers["location"]).text
    assert "Đã nhập 10 liều lô FW-1 vào kho điểm tiêm S-A1." in page
    row = _row(page, "data-lot", "FW-1")
    assert '<span data-site="S-A1">S-A1: 10</span>' in row

    # an expired lot: refused naming it, what was typed kept
    old = _post(web, "/lots", delivery | {"lot_number": "FW-OLD", "expiry": "2020-01-31"})
    assert old.status_code == 422 and _rules(old.text) == [("expiry", "lot_expired")]
    assert "Lô FW-OLD đã hết hạn ngày 31/01/2020" in old.text
    assert 'value="FW-OLD"' in old.text and 'value="2020-01-31"' in old.text
    bad = _post(web, "/lots", delivery | {"doses": "ten", "expiry": "31/12/2099"})
    assert bad.status_code == 422 and _rules(bad.text) == [("expiry", "invalid_date")]
    bad = _post(web, "/lots", delivery | {"doses": "ten"})
    assert bad.status_code == 422 and _rules(bad.text) == [("doses", "invalid_number")]
    other = _post(web, "/lots", delivery | {"site_id": "S-A2"})
    assert other.status_code == 403 and _rules(other.text) == [("site_id", "out_of_area")]
    with platform.sessions() as s:
        lot = s.scalar(select(Lot).where(Lot.lot_number == "FW-1"))
        assert lot is not None
        assert s.scalar(select(Lot).where(Lot.lot_number == "FW-OLD")) is None
        lot_id = lot.id

    # a transfer to another site: never more than on hand, the service's words shown
    too_many = _post(web, f"/lots/{lot_id}/transfer",
                     {"from_site": "S-A1", "to_site": "S-A2", "doses": "11"})  # fmt: skip
    assert too_many.status_code == 409
    assert _rules(too_many.text) == [("doses", "not_enough_stock")]
    assert "Lô FW-1 tại điểm tiêm S-A1 chỉ còn 10 liều, không đủ 11" in too_many.text
    assert 'value="11"' in too_many.text
    nowhere = _post(web, "/lots/999999/transfer", {"from_site": "S-A1", "to_site": "S-A2",
                                                   "doses": "1"})  # fmt: skip
    assert nowhere.status_code == 404 and _rules(nowhere.text) == [("lot_id", "not_found")]
    moved = _post(web, f"/lots/{lot_id}/transfer",
                  {"from_site": "S-A1", "to_site": "S-A2", "doses": "4"})  # fmt: skip
    assert moved.status_code == 303
    assert "Đã chuyển 4 liều lô FW-1 từ S-A1 đến S-A2." in web.page(moved.headers["location"]).text
    with platform.sessions() as s:
        left = stock_left(s.connection(), [(lot_id, "S-A1"), (lot_id, "S-A2")])
    assert left == {(lot_id, "S-A1"): 6, (lot_id, "S-A2"): 4}
    assert len(_audited(platform, "lot.transfer")) == 1
    (receipt,) = _audited(platform, "lot.receive")
    assert receipt.username == "site_a1" and receipt.detail["note"] == "CDC tỉnh"  # type: ignore[index]

    # the province sees the lot at both sites of its area; another province sees nothing
    web.sign_in("prov_a")
    row = _row(web.page("/lots").text, "data-lot", "FW-1")
    assert "S-A1: 6" in row and "S-A2: 4" in row
    web.sign_in("prov_b")
    assert 'data-lot="FW-1"' not in web.page("/lots").text


def test_only_central_edits_the_catalogue(web: Web, platform: Platform) -> None:
    web.sign_in("prov_a")
    page = web.page("/products").text
    assert 'data-product="PFIZER"' in page and 'action="/products/PFIZER"' not in page
    r = _post(web, "/products/PFIZER", {"name": "X", "mp": "a", "ma": "b", "vp": "c"})
    assert r.status_code == 403 and _rules(r.text) == [("role", "role_not_allowed")]

    web.sign_in("central")
    page = web.page("/products").text
    assert 'action="/products/PFIZER"' in page
    with platform.sessions() as s:
        p = s.get(Product, "PFIZER")
        assert p is not None
        before = {"name": p.name, "mp": p.mp, "ma": p.ma, "vp": p.vp}
    missing = _post(web, "/products/NOPE", before)
    assert missing.status_code == 404 and _rules(missing.text) == [("code", "not_found")]
    blank = _post(web, "/products/PFIZER", before | {"name": " ", "active": "1"})
    assert blank.status_code == 422 and _rules(blank.text) == [("name", "invalid_length")]
    done = _post(web, "/products/PFIZER", before | {"name": "Comirnaty (Pfizer)", "active": ""})
    assert done.status_code == 303
    row = _row(web.page("/products").text, "data-product", "PFIZER")
    assert "Comirnaty (Pfizer)" in row and 'data-active="no"' in row
    (event,) = _audited(platform, "product.update")
    assert event.detail == {  # only what changed, with its value before
        "name": [before["name"], "Comirnaty (Pfizer)"],
        "active": [True, False],
    }


def test_central_picks_a_province_before_its_wards(web: Web, platform: Platform) -> None:
    w = world()
    web.sign_in("central")
    page = web.page("/sites").text
    # ten thousand wards are no choice: a code is typed, or a province picked first
    assert '<input id="ward_code" name="ward_code" type="text"' in page
    assert 'id="pick-province"' in page
    page = web.page("/sites?province=40").text
    offered = re.findall(r'<select id="ward_code".*?</select>', page, re.S)[0]
    codes = re.findall(r'<option value="(\d+)"', offered)
    assert w.wards["b1"] in codes and w.wards["a1"] not in codes
    typed = {"site_id": "BV-40", "name": "Bệnh viện tỉnh", "kind": "hospital"}
    r = _post(web, "/sites", typed | {"ward_code": w.wards["b2"]})
    assert r.status_code == 303
    with platform.sessions() as s:
        site = s.get(Site, "BV-40")
        assert site is not None and (site.province_code, site.kind) == ("40", "hospital")
