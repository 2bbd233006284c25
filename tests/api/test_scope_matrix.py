"""Every endpoint × every role, in-area and out-of-area, against hand-written expectations.

World (tests/factories.py): province A has wards a1, a2; province B has b1, b2; one site per
ward. Persons: an, binh (a1), cuong (a2), dung (b1), em (b2). Doses set up below: an at
site a1, dung at site b1, and an unregistered stranger from ward b2 vaccinated at site a1.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.factories import payload, world

ROLES = ["central", "prov_a", "prov_b", "ward_a1", "ward_b1", "site_a1", "site_b1", "citizen_an"]


def _setup_doses(api: Api) -> dict[str, int]:
    w = world()
    made = {
        "an": api.post("/doses", "central", json=payload("an")),
        "dung": api.post("/doses", "central", json=payload("dung", site_id=w.sites["b1"])),
        "stranger": api.post(
            "/doses",
            "central",
            json=payload(None, full_name="Khách Vãng Lai", ward_code=w.wards["b2"]),
        ),
    }
    for r in made.values():
        assert r.status_code == 201, r.text
    return {k: r.json()["id"] for k, r in made.items()}


# (path, {role: expected status}) — 404 means "not visible", never a leak of existence.
PERSON_DETAIL = {
    "/persons/P-AN": dict(
        central=200,
        prov_a=200,
        prov_b=404,
        ward_a1=200,
        ward_b1=404,
        site_a1=200,
        site_b1=200,
        citizen_an=200,
    ),
    "/persons/P-DUNG": dict(
        central=200,
        prov_a=404,
        prov_b=200,
        ward_a1=404,
        ward_b1=200,
        site_a1=200,
        site_b1=200,
        citizen_an=404,
    ),
}
PERSON_LIST_TOTAL = dict(
    central=5, prov_a=3, prov_b=2, ward_a1=2, ward_b1=1, site_a1=403, site_b1=403, citizen_an=1
)
PERSON_BY_ID_TOTAL = dict(
    central=1, prov_a=0, prov_b=1, ward_a1=0, ward_b1=1, site_a1=1, site_b1=1, citizen_an=0
)
DOSE_LIST_TOTAL = dict(
    central=3, prov_a=1, prov_b=2, ward_a1=1, ward_b1=1, site_a1=2, site_b1=1, citizen_an=1
)
DOSE_AN_DETAIL = dict(
    central=200,
    prov_a=200,
    prov_b=404,
    ward_a1=200,
    ward_b1=404,
    site_a1=200,
    site_b1=404,
    citizen_an=200,
)
POST_AT_SITE_A1 = dict(
    central=201,
    prov_a=201,
    prov_b=403,
    ward_a1=201,
    ward_b1=403,
    site_a1=201,
    site_b1=403,
    citizen_an=403,
)
POST_AT_SITE_B1 = dict(
    central=201,
    prov_a=403,
    prov_b=201,
    ward_a1=403,
    ward_b1=201,
    site_a1=403,
    site_b1=201,
    citizen_an=403,
)
SITES_TOTAL = dict(
    central=4, prov_a=2, prov_b=2, ward_a1=1, ward_b1=1, site_a1=1, site_b1=1, citizen_an=403
)
SESSIONS_TOTAL = SITES_TOTAL
SITE_A1_DETAIL = dict(
    central=200,
    prov_a=200,
    prov_b=404,
    ward_a1=200,
    ward_b1=404,
    site_a1=200,
    site_b1=404,
    citizen_an=403,
)


@pytest.mark.parametrize("role", ROLES)
def test_role_area_matrix(api: Api, role: str) -> None:
    w = world()
    ids = _setup_doses(api)

    for path, expected in PERSON_DETAIL.items():
        assert api.get(path, role).status_code == expected[role], (path, role)

    def total(path: str, **params: str) -> int:
        r = api.get(path, role, params=params)
        return r.json()["total"] if r.status_code == 200 else r.status_code

    assert total("/persons") == PERSON_LIST_TOTAL[role]
    assert total("/persons", national_id="040065333444") == PERSON_BY_ID_TOTAL[role]
    assert total("/doses") == DOSE_LIST_TOTAL[role]
    assert api.get(f"/doses/{ids['an']}", role).status_code == DOSE_AN_DETAIL[role]
    assert total("/sites") == SITES_TOTAL[role]
    assert api.get(f"/sites/{w.sites['a1']}", role).status_code == SITE_A1_DETAIL[role]
    assert total("/sessions") == SESSIONS_TOTAL[role]
    assert api.get("/products", role).status_code == 200

    at_a1 = payload(None, full_name="Người Thử A", ward_code=w.wards["a1"])
    at_b1 = payload(None, full_name="Người Thử B", ward_code=w.wards["b1"], site_id=w.sites["b1"])
    r = api.post("/doses", role, json=at_a1)
    assert r.status_code == POST_AT_SITE_A1[role], r.text
    r = api.post("/doses", role, json=at_b1)
    assert r.status_code == POST_AT_SITE_B1[role], r.text
    batch = api.post(
        "/doses:batch",
        role,
        json={"doses": [payload(None, full_name="Người Thử C", ward_code=w.wards["a1"])]},
    )
    if POST_AT_SITE_A1[role] == 403 and role == "citizen_an":
        assert batch.status_code == 403
    else:
        assert batch.json()["results"][0]["status"] == POST_AT_SITE_A1[role]


@pytest.mark.parametrize(
    "path",
    [
        "/persons",
        "/persons/P-AN",
        "/doses",
        "/doses/1",
        "/sites",
        "/sites/S-A1",
        "/sessions",
        "/products",
    ],
)
def test_every_endpoint_needs_a_token(api: Api, path: str) -> None:
    r = api.get(path, None)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers.get("www-authenticate") == "Bearer"


def test_writes_need_a_token(api: Api) -> None:
    assert api.post("/doses", None, json=payload("an")).status_code == 401
    assert api.post("/doses:batch", None, json={"doses": [payload("an")]}).status_code == 401
