"""`GET /api/v1/messages` through the real app (both backends): each role sees its area's
messages only, the filters (status, kind, phone in any form, ref) and keyset pages, the
invalid numbers listed, and a bad filter answered as a problem naming the field."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.factories import PROVINCE_A, PROVINCE_B, world
from tiemchung.core import Platform
from tiemchung.registry.messages.outbox import enqueue


def _seed(platform: Platform) -> None:
    w = world()
    with platform.sessions() as s:
        for i, (ward, prov) in enumerate(
            [("a1", PROVINCE_A), ("a1", PROVINCE_A), ("a2", PROVINCE_A), ("b1", PROVINCE_B)]
        ):
            enqueue(
                s,
                phone=f"09123456{i:02d}",
                body=f"Moi tiem {i}",
                kind="invitation",
                ref_type="invitation",
                ref_id=100 + i,
                ward_code=w.wards[ward],
                province_code=prov,
            )
        enqueue(
            s,
            phone="12345",
            body="x",
            kind="reminder",
            ward_code=w.wards["a1"],
            province_code=PROVINCE_A,
        )
        s.commit()


def _bodies(r: object) -> list[str]:
    return [m["body"] for m in r.json()["items"]]  # type: ignore[attr-defined]


def test_each_role_sees_its_area(api: Api, platform: Platform) -> None:
    _seed(platform)
    assert _bodies(api.get("/messages", "central")) == [
        "x",
        "Moi tiem 3",
        "Moi tiem 2",
        "Moi tiem 1",
        "Moi tiem 0",
    ]
    assert _bodies(api.get("/messages", "prov_a")) == [
        "x",
        "Moi tiem 2",
        "Moi tiem 1",
        "Moi tiem 0",
    ]
    assert _bodies(api.get("/messages", "ward_a1")) == ["x", "Moi tiem 1", "Moi tiem 0"]
    assert _bodies(api.get("/messages", "ward_b1")) == ["Moi tiem 3"]
    # a site lists none: its ward's texts carry other people's phones and links
    for role in ("site_a1", "citizen_an"):
        r = api.get("/messages", role)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_filters_pages_and_the_invalid_numbers(api: Api, platform: Platform) -> None:
    _seed(platform)
    r = api.get("/messages", "central", params={"status": "invalid"})
    (bad,) = r.json()["items"]
    assert bad["phone"] == "12345" and bad["last_error"].startswith("phone:")
    r = api.get("/messages", "central", params={"phone": "+84 912 345 601"})
    assert _bodies(r) == ["Moi tiem 1"]
    assert _bodies(api.get("/messages", "central", params={"ref": "invitation:102"})) == [
        "Moi tiem 2"
    ]
    assert _bodies(api.get("/messages", "central", params={"kind": "reminder"})) == ["x"]
    first = api.get("/messages", "central", params={"limit": 2}).json()
    assert [m["body"] for m in first["items"]] == ["x", "Moi tiem 3"]
    nxt = api.get(
        "/messages", "central", params={"limit": 2, "before": first["next_before"]}
    ).json()
    assert [m["body"] for m in nxt["items"]] == ["Moi tiem 2", "Moi tiem 1"]
    r = api.get("/messages", "central", params={"status": "lost"})
    assert r.status_code == 400
    (err,) = r.json()["errors"]
    assert err["field"] == "status" and "queued" in err["message_en"]
