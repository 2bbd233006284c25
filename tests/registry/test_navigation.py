"""Finding one's way through the worklist (registry/review/navigation.py) over SQLite and
PostgreSQL: the wards to choose from, an item's open neighbours, the next item after a
decision, an item's page with a register search; never an item outside the caller's area."""

from __future__ import annotations

import pytest

from tests.factories import world
from tests.registry.test_worklists import an_item, dose, item, run, who
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.review import decisions as wd
from tiemchung.registry.review import navigation as nav
from tiemchung.registry.review import worklists as wl


def _three_a1_and_one_b1(platform: Platform) -> tuple[list[int], int]:
    a1 = [an_item(platform, nid)[1] for nid in ("001085123457", "001085123458", "001085123459")]
    d_b1 = dose(platform, full_name="Pham Van Dung", national_id="040065333440")
    return a1, item(platform, d_b1, ("dung", 0.9, {}), ward="b1")


def test_wards_and_the_worklist_page(platform: Platform) -> None:
    w = world()
    a1, _b1 = _three_a1_and_one_b1(platform)
    with platform.sessions() as s:
        assert nav.wards_with_items(s, who(platform, "central")) == sorted(
            [w.wards["a1"], w.wards["b1"]]
        )
        assert nav.wards_with_items(s, who(platform, "prov_a")) == [w.wards["a1"]]
        assert nav.wards_with_items(s, who(platform, "prov_b")) == [w.wards["b1"]]
        # a commune has its own ward, items or not
        assert nav.wards_with_items(s, who(platform, "ward_b1")) == [w.wards["b1"]]
        page, wards = nav.worklist_page(s, who(platform, "prov_a"), wl.WorklistQuery())
        assert [x["id"] for x in page.items] == a1 and wards == [w.wards["a1"]]


def test_neighbours_and_the_next_open_item(platform: Platform) -> None:
    w = world()
    (i1, i2, i3), b1 = _three_a1_and_one_b1(platform)
    commune = who(platform, "ward_a1")
    ward = w.wards["a1"]
    with platform.sessions() as s:
        assert nav.neighbours(s, commune, i2, ward) == {"prev_id": i1, "next_id": i3}
        assert nav.neighbours(s, commune, i1, ward) == {"prev_id": None, "next_id": i2}
        assert nav.next_open(s, commune, i1, ward) == i2
        assert nav.next_open(s, commune, i3, ward) == i1  # wraps to the ward's first
        assert nav.next_open(s, who(platform, "central"), i3, None) == b1  # any ward
        assert nav.next_open(s, commune, i3, None) == i1  # never another ward's item
    run(platform, lambda s: wd.accept(s, commune, i2))
    with platform.sessions() as s:
        assert nav.neighbours(s, commune, i1, ward) == {"prev_id": None, "next_id": i3}
        assert nav.after_decision(s, commune, i2) == (i3, ward, "review")
        item_now, nxt = nav.after_refusal(s, commune, i2)
        assert item_now is not None and item_now["status"] == "accepted" and nxt == i3
        assert nav.after_refusal(s, commune, b1) == (None, None)  # another ward's: unseen
        assert nav.after_decision(s, commune, 10**9) == (i1, "", "")  # gone: any open item


def test_item_page_with_a_register_search(platform: Platform) -> None:
    (i1, i2, _i3), b1 = _three_a1_and_one_b1(platform)
    commune = who(platform, "ward_a1")
    with platform.sessions() as s:
        page = nav.item_page(s, commune, i2, None)
        assert page["item"]["id"] == i2 and page["ticket"] is None
        assert (page["prev_id"], page["found"], page["find_error"]) == (i1, None, None)
        found = nav.item_page(s, commune, i2, {"national_id": "001085123456"})["found"]
        assert [p["person_id"] for p in found] == ["P-AN"]
        assert set(found[0]) == {"person_id", "full_name", "national_id", "dob", "sex", "ward_code"}
        # outside the commune's ward: nobody found
        assert nav.find_for_item(s, commune, {"national_id": "040065333444"}) == []
        bad = nav.item_page(s, commune, i2, {"dob": "12/04/1985"})["find_error"]
        assert bad is not None and bad.problems[0].rule == "search_needs_id_or_name"
        with pytest.raises(ServiceError) as exc:
            nav.item_page(s, commune, b1, None)
        assert exc.value.status == 404
