"""The quality table's "awaiting commune review" sits in the ward whose worklist holds the item.

Found on the demo: the quality table listed Xã Nghĩa Lợi with 2 items waiting for review while
those items were in Nghĩa Sơn's worklist, and the worklist's ward filter had no Nghĩa Lợi at
all. The dose's own area is the ward typed on its form (or its address's, or the site's); its
review item goes to the commune of its best candidate. The table counted the first, the
worklist and the backlog the second.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import insert, select

from tests.factories import PROVINCE_A, world
from tiemchung.core import Platform
from tiemchung.registry.models import Dose, ReviewItem
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats.filters import Filters
from tiemchung.stats.queries import table
from tiemchung.stats.service import StatsService

PROV_A = Actor(2, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)


def _dose(area: str, status: str = "unverified") -> dict[str, Any]:
    w = world()
    return {
        "client_uuid": uuid.uuid4(),
        "submission_hash": "x" * 64,
        "full_name": "Người Thử",
        "dob": "1980-01-01",
        "product_code": "AZ",
        "dose_number": 1,
        "dose_date": date(2021, 9, 1),
        "site_id": w.sites[area],
        "status": status,
        "person_pk": None,
        "area_ward_code": w.wards[area],
        "area_province_code": PROVINCE_A,
    }


def test_a_waiting_dose_counts_in_the_ward_whose_worklist_holds_it(platform: Platform) -> None:
    w = world()
    a1, a2 = w.wards["a1"], w.wards["a2"]
    with platform.sessions() as s:
        # two doses typed in a1 (form, address or site): one routed to a2's worklist (its best
        # candidate lives there), one not found, left in a1; and a verified dose in a1
        s.execute(insert(Dose), [_dose("a1"), _dose("a1"), _dose("a1", "verified")])
        ids = list(s.scalars(select(Dose.id).order_by(Dose.id)))
        s.execute(
            insert(ReviewItem),
            [
                {
                    "dose_id": ids[0],
                    "kind": "review",
                    "status": "open",
                    "ward_code": a2,
                    "province_code": PROVINCE_A,
                    "mismatches": "full_name",
                },
                {
                    "dose_id": ids[1],
                    "kind": "not_found",
                    "status": "open",
                    "ward_code": a1,
                    "province_code": PROVINCE_A,
                    "mismatches": None,
                },
            ],
        )
        s.commit()
    svc = StatsService(platform.engine, platform.settings.data_dir)
    svc.refresh()
    with svc.cursor() as (cur, _snap):
        quality = {
            r["code"]: r for r in table(cur, "quality", PROV_A, Filters(), date(2021, 12, 31)).rows
        }
        backlog = {
            r["code"]: r for r in table(cur, "backlog", PROV_A, Filters(), date(2021, 12, 31)).rows
        }
    assert (quality[a2]["review"], quality[a2]["wrong_name"], quality[a2]["total"]) == (1, 1, 1)
    assert (quality[a1]["review"], quality[a1]["not_found"], quality[a1]["total"]) == (0, 1, 2)
    assert quality[a1]["verified"] == 1
    # the same wards as the backlog (and the worklist) for what waits in a worklist
    assert backlog[a2]["open_review"] == quality[a2]["review"]
    assert backlog[a1]["open_not_found"] == quality[a1]["not_found"]
    assert backlog[a1]["open_review"] == quality[a1]["review"] == 0
