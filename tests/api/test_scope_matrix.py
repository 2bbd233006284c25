"""Every API endpoint × every role, from the rule "personal data by need" (docs/registry.md).

The rule, written down here by hand rather than read from the code under test:

* the whole record (full ID numbers, phone, address) only inside the caller's area: central
  everything, a province its province, a commune its ward, a citizen itself;
* a site sees the masked desk view (ID ``0010******56``, no phone or address keys) of the
  people it vaccinates — by register id, those with a dose recorded at its site — and of the
  person checking in at its desk (``/verify``, the exact look-up); nothing else, and what it
  may not see answers 404 exactly as a person who does not exist;
* certificates are issued and read by callers whose area holds the person or one of the
  person's doses (a site: a dose given at itself); a citizen only its own.

World (tests/factories.py): province A has wards a1, a2; province B has b1, b2; one site per
ward. Persons: an, binh (a1), cuong (a2), dung (b1), em (b2). The scene below adds: An
vaccinated at site a1, Em (who lives in b2) vaccinated at site a1, Dũng at site b1; a
certificate for each; five unregistered people vaccinated at site b1 whose review items sit in
ward b1's worklist (one already decided); two tickets of An's (ward a1).

The route table is read from the app itself: an endpoint without an entry here fails
:func:`test_every_route_has_a_matrix_entry`, so no endpoint ships without a decision on who
may call it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.conftest import Api
from tests.certificates.conftest import KEYS_MADE
from tests.factories import PASSWORD, PROVINCE_A, payload, review_item, world
from tiemchung.auth import clients
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.catalog.sessions import SessionPlan, open_session, plan_session
from tiemchung.registry.changes import webhooks
from tiemchung.registry.imports.runner import runner_for
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.models import AuditEvent, VaccinationSession
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.webhooks import WebhookDeadLetter

ROLES = (
    "central",
    "prov_a",
    "prov_b",
    "ward_a1",
    "ward_b1",
    "site_a1",
    "site_b1",
    "citizen_an",
    "anonymous",
)


def st(*codes: int) -> dict[str, int]:
    """Expected statuses in the order of :data:`ROLES`."""
    assert len(codes) == len(ROLES)
    return dict(zip(ROLES, codes, strict=True))


#: the register persons whose full identifiers (ID, old ID, phone) a role may meet anywhere:
#: its area's persons, a citizen itself, a site the doses it entered itself (as typed).
MAY_MEET = {
    "central": {"an", "binh", "cuong", "dung", "em"},
    "prov_a": {"an", "binh", "cuong"},
    "prov_b": {"dung", "em"},
    "ward_a1": {"an", "binh"},
    "ward_b1": {"dung"},
    "site_a1": {"an", "em"},  # only inside its own dose records (GET /doses)
    "site_b1": {"dung"},
    "citizen_an": {"an"},
    "anonymous": set(),
}
#: full records (``view`` ``full``) per role and person; otherwise the desk view
FULL = {
    "central": {"an", "binh", "cuong", "dung", "em"},
    "prov_a": {"an", "binh", "cuong"},
    "prov_b": {"dung", "em"},
    "ward_a1": {"an", "binh"},
    "ward_b1": {"dung"},
    "citizen_an": {"an"},
}


def _mask(value: str) -> str:
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def check_person(role: str, body: dict[str, Any]) -> None:
    """A person object shows exactly the role's view of that person."""
    label = next(k for k, p in world().persons.items() if p["person_id"] == body["person_id"])
    p = world().persons[label]
    if label in FULL.get(role, set()):
        assert body["view"] == "full", (role, label)
        assert body["national_id"] == p["national_id"]
        assert body["phone"] == p["phone"] and body["address"] == "Thôn 1"
    else:
        assert body["view"] == "desk", (role, label)
        assert body["national_id"] == _mask(p["national_id"])
        assert body["old_id"] == (_mask(p["old_id"]) if p.get("old_id") else None)
        assert "phone" not in body and "address" not in body
        assert body["full_name"] == p["full_name"] and body["dob"] == p["dob"]


def check_no_leak(role: str, text: str) -> None:
    """No full ID, old ID or phone of a person outside what the role may meet."""
    for label, p in world().persons.items():
        if label in MAY_MEET[role]:
            continue
        for key in ("national_id", "old_id", "phone"):
            if p.get(key):
                assert p[key] not in text, (role, label, key)


@dataclass
class Case:
    method: str
    path: str  # with the scene's ids filled in by ``fill``
    expected: dict[str, int]
    kw: Callable[[dict[str, Any]], dict[str, Any]] = lambda ids: {}
    check: Callable[[str, Any, dict[str, Any]], None] | None = None  # (role, response, ids)
    note: str = ""


def _people(role: str, r: Any, ids: dict[str, Any]) -> None:
    for item in r.json()["items"]:
        check_person(role, item)


def _detail(role: str, r: Any, ids: dict[str, Any]) -> None:
    body = r.json()
    check_person(role, body)
    assert all(set(d) == {"id", "product_code", "dose_number", "dose_date", "site_id", "status"}
               for d in body["doses"])  # fmt: skip


def _verified_view(role: str, r: Any, ids: dict[str, Any]) -> None:
    body = r.json()
    assert body["status"] == "verified"
    check_person(role, body["person"])


def _total(expected: dict[str, int]) -> Callable[[str, Any, dict[str, Any]], None]:
    def check(role: str, r: Any, ids: dict[str, Any]) -> None:
        assert r.json()["total"] == expected[role], (role, r.json()["total"])

    return check


def _people_counted(expected: dict[str, int]) -> Callable[[str, Any, dict[str, Any]], None]:
    def check(role: str, r: Any, ids: dict[str, Any]) -> None:
        _total(expected)(role, r, ids)
        _people(role, r, ids)

    return check


def _batch_result(expected: dict[str, int]) -> Callable[[str, Any, dict[str, Any]], None]:
    def check(role: str, r: Any, ids: dict[str, Any]) -> None:
        assert r.json()["results"][0]["status"] == expected[role]

    return check


def _candidate_an(role: str, r: Any, ids: dict[str, Any]) -> None:
    """An (ward a1) is the second candidate of a ward b1 item: outside the caller's area the
    register side shows the desk view (masked ID, no phone or address)."""
    an = next(c for c in r.json()["candidates"] if c["person_id"] == "P-AN")
    register = {x["field"]: x["register"] for x in an["fields"]}
    if "an" in FULL.get(role, set()):
        assert register["national_id"] == "001085123456" and register["phone"] == "0912000001"
    else:
        assert register["national_id"] == "0010******56", role
        assert register["phone"] is None and register["address"] is None
        assert an["corrections"] == {"national_id": "0010******56"}
    assert "national_id" in an["mismatches"]  # the marks are still those of the real values


def _bulk(role: str, r: Any, ids: dict[str, Any]) -> None:
    want = 200 if role in ("central", "prov_b", "ward_b1") else 404
    assert r.json()["results"][0]["status"] == want


def _stranger(n: int) -> dict[str, Any]:
    w = world()
    return payload(
        None,
        full_name=f"Khách Vãng Lai {'ABCDE'[n]}",
        ward_code=w.wards["b1"],
        site_id=w.sites["b1"],
    )


#: doses each role sees in GET /doses: an@a1 (area a1), em@a1 (area b2), dung@b1, five
#: strangers at b1 (area b1, as typed)
DOSE_TOTAL = dict(
    central=8, prov_a=1, prov_b=7, ward_a1=1, ward_b1=6, site_a1=2, site_b1=6, citizen_an=1
)
PERSON_TOTAL = dict(central=5, prov_a=3, prov_b=2, ward_a1=2, ward_b1=1, citizen_an=1)
DUNG_BY_ID_TOTAL = dict(
    central=1, prov_a=0, prov_b=1, ward_a1=0, ward_b1=1, site_a1=1, site_b1=1, citizen_an=0
)
SITES_TOTAL = dict(central=4, prov_a=2, prov_b=2, ward_a1=1, ward_b1=1, site_a1=1, site_b1=1)
#: one seeded session per site, and the scene's three planned at site a1 today
SESSIONS_TOTAL = dict(central=7, prov_a=5, prov_b=2, ward_a1=4, ward_b1=1, site_a1=4, site_b1=1)
#: a session at site a1: its area's staff act on it; elsewhere it is not found
AT_A1 = st(200, 200, 404, 200, 404, 200, 404, 403, 401)
#: open worklist items: four of the five strangers' (b1) and An's two tickets (a1)
WORKLIST_TOTAL = dict(central=6, prov_a=2, prov_b=4, ward_a1=2, ward_b1=4)
TICKET_TOTAL = dict(central=2, prov_a=2, prov_b=0, ward_a1=2, ward_b1=0, citizen_an=2)

#: AEFI reports each role sees: the scene's one (site a1, province A)
AEFI_TOTAL = dict(central=1, prov_a=1, prov_b=0, ward_a1=1, ward_b1=0, site_a1=1, site_b1=0)
# the scene queues one text of its own and two invitations (both of ward a1)
MESSAGES_TOTAL = dict(central=3, prov_a=3, prov_b=0, ward_a1=3, ward_b1=0)
AEFI_BODY = {
    "onset_at": "2021-10-01T15:00:00+07:00",
    "symptoms": ["fever"],
    "outcome": "recovering",
    "reporter_name": "Điều dưỡng Thử",
    "reporter_contact": "0987000111",
}


def _items(expected: dict[str, int]) -> Callable[[str, Any, dict[str, Any]], None]:
    def check(role: str, r: Any, ids: dict[str, Any]) -> None:
        assert len(r.json()["items"]) == expected[role], (role, r.json())

    return check


def _reports(expected: dict[str, int]) -> Callable[[str, Any, dict[str, Any]], None]:
    def check(role: str, r: Any, ids: dict[str, Any]) -> None:
        assert sum(x["reports"] for x in r.json()["items"]) == expected[role], role

    return check


IMPORT_CSV = "Họ và tên,Loại vắc xin,Mũi,Ngày tiêm\nNgười Thử,Covaxin,1,01/10/2021\n".encode()
#: who reads site a1's upload: its site, its commune, its province and central
SEES_JOB_A1 = {"central", "prov_a", "ward_a1", "site_a1"}


def _job_seen(role: str, r: Any, ids: dict[str, Any]) -> None:
    listed = [j["id"] for j in r.json()["items"]]
    assert (ids["job_a1"] in listed) == (role in SEES_JOB_A1), (role, listed)


#   central prov_a prov_b ward_a1 ward_b1 site_a1 site_b1 citizen anonymous
STAFF = st(200, 200, 200, 200, 200, 200, 200, 403, 401)
WORKLIST_STAFF = st(200, 200, 200, 200, 200, 403, 403, 403, 401)
IN_B1 = st(200, 404, 200, 404, 200, 403, 403, 403, 401)
TICKET_A1 = st(200, 200, 404, 200, 404, 403, 403, 403, 401)
STATS = st(200, 200, 200, 403, 403, 403, 403, 403, 401)
#: a webhook of a partner client of ward a1
HOOK_A1 = st(200, 200, 404, 200, 404, 403, 403, 403, 401)
HOOK_URL = "http://127.0.0.1:9/hook"
PUBLIC = st(*([200] * len(ROLES)))
#: issue 18's organisations: read by those who decide on them (an empty list elsewhere)
DECIDERS_READ = st(200, 200, 200, 200, 200, 403, 403, 403, 401)
#: deciding on an organisation of ward a1: its ward, its province, central
DECIDE = st(200, 200, 403, 200, 403, 403, 403, 403, 401)
#: an organisation's rows: as if it did not exist outside its deciders
ORG_ROWS = st(200, 200, 404, 200, 404, 404, 404, 404, 401)
ORG_WRITE = st(201, 201, 404, 201, 404, 404, 404, 404, 401)
#: SMS templates: read by the centre and the provinces, edited by the centre only
TEMPLATES_READ = st(200, 200, 200, 403, 403, 403, 403, 403, 401)
TEMPLATES_EDIT = st(200, 403, 403, 403, 403, 403, 403, 403, 401)
TEMPLATES_ALL = st(5, 5, 5, 0, 0, 0, 0, 0, 0)
ORG_BODY = {"name": "Chợ Ma Trận", "code": "0109990001", "kind": "market", "ward_code": ""}
REG_ROW = {"national_id": "001085123456", "full_name": "Nguyễn Văn An", "dob": "1985-04-12"}
USER_PASSWORD = "Hoa-sen-no-7-giua-dam"

MATRIX: dict[str, list[Case]] = {
    "GET /health": [Case("GET", "/health", PUBLIC)],
    # the probes a load balancer and an orchestrator call: no token, no personal data
    "GET /health/live": [Case("GET", "/health/live", PUBLIC)],
    "GET /health/ready": [Case("GET", "/health/ready", PUBLIC)],
    "POST /auth/token": [
        # the token endpoint reads no bearer token: each role signs in as itself
        Case("POST", "/auth/token", PUBLIC, note="sign-in")
    ],
    # -- persons ------------------------------------------------------------------------------
    "GET /persons": [
        Case(
            "GET",
            "/persons",
            st(200, 200, 200, 200, 200, 403, 403, 200, 401),
            check=_people_counted(PERSON_TOTAL),
        ),
        Case(  # the exact look-up of the person checking in: a site gets the desk view
            "GET",
            "/persons",
            st(200, 200, 200, 200, 200, 200, 200, 200, 401),
            kw=lambda ids: {"params": {"national_id": "040065333444"}},
            check=_people_counted(DUNG_BY_ID_TOTAL),
        ),
    ],
    "GET /persons/{person_id}": [
        Case(
            "GET", "/persons/P-AN", st(200, 200, 404, 200, 404, 200, 404, 200, 401), check=_detail
        ),
        Case(
            "GET", "/persons/P-EM", st(200, 404, 200, 404, 404, 200, 404, 404, 401), check=_detail
        ),
        Case(
            "GET", "/persons/P-DUNG", st(200, 404, 200, 404, 200, 404, 200, 404, 401), check=_detail
        ),
        Case(  # no dose anywhere: no site sees Cường
            "GET",
            "/persons/P-CUONG",
            st(200, 200, 404, 404, 404, 404, 404, 404, 401),
            check=_detail,
        ),
        Case("GET", "/persons/P9999999", st(404, 404, 404, 404, 404, 404, 404, 404, 401)),
    ],
    "POST /verify": [
        Case(  # checking in at the desk: anyone may present An's card; the view follows the role
            "POST",
            "/verify",
            st(200, 200, 200, 200, 200, 200, 200, 403, 401),
            kw=lambda ids: {
                "json": {
                    "national_id": "001085123456",
                    "full_name": "Nguyễn Văn An",
                    "dob": "12/04/1985",
                }
            },
            check=_verified_view,
        )
    ],
    # -- doses --------------------------------------------------------------------------------
    "GET /doses": [
        Case(
            "GET",
            "/doses",
            st(200, 200, 200, 200, 200, 200, 200, 200, 401),
            check=_total(DOSE_TOTAL),
        )
    ],
    "GET /doses/{dose_id}": [
        Case(
            "GET",
            "/doses/{an_dose}",
            st(200, 200, 404, 200, 404, 200, 404, 200, 401),
        ),
        Case(  # Em lives in b2, vaccinated at a1: the dose's area is b2, the site a1 entered it
            "GET",
            "/doses/{em_dose}",
            st(200, 404, 200, 404, 404, 200, 404, 404, 401),
        ),
    ],
    # -- reference ----------------------------------------------------------------------------
    "GET /sites": [Case("GET", "/sites", STAFF, check=_total(SITES_TOTAL))],
    "GET /sites/{site_id}": [
        Case("GET", "/sites/S-A1", st(200, 200, 404, 200, 404, 200, 404, 403, 401))
    ],
    "GET /products": [Case("GET", "/products", st(200, 200, 200, 200, 200, 200, 200, 200, 401))],
    "GET /sessions": [Case("GET", "/sessions", STAFF, check=_total(SESSIONS_TOTAL))],
    # -- certificates -------------------------------------------------------------------------
    "GET /trust-list": [Case("GET", "/trust-list", PUBLIC)],
    "GET /certificates/revoked": [Case("GET", "/certificates/revoked", PUBLIC)],
    "POST /certificates/verify": [
        Case("POST", "/certificates/verify", PUBLIC, kw=lambda ids: {"json": {"text": ids["hc1"]}})
    ],
    "GET /persons/{person_id}/certificate": [
        # read as issued: by whoever's area holds the person or a dose (a site: given there)
        Case(
            "GET",
            "/persons/P-AN/certificate",
            st(200, 200, 404, 200, 404, 200, 404, 200, 401),
        ),
        Case(
            "GET",
            "/persons/P-EM/certificate",
            st(200, 200, 200, 200, 404, 200, 404, 404, 401),
        ),
    ],
    "POST /persons/{person_id}/certificate": [
        Case(
            "POST",
            "/persons/P-AN/certificate",
            st(201, 201, 404, 201, 404, 201, 404, 201, 401),
        ),
        Case(  # Em of ward b2, vaccinated at site a1: a1's site, commune and province may issue
            "POST",
            "/persons/P-EM/certificate",
            st(201, 201, 201, 201, 404, 201, 404, 404, 401),
        ),
        Case(
            "POST",
            "/persons/P-DUNG/certificate",
            st(201, 404, 201, 404, 201, 404, 201, 404, 401),
        ),
        Case(  # no dose: in the area it is "no verified dose"; elsewhere it does not exist
            "POST",
            "/persons/P-CUONG/certificate",
            st(422, 422, 404, 404, 404, 404, 404, 404, 401),
        ),
    ],
    "POST /certificates/revoke": [
        Case(
            "POST",
            "/certificates/revoke",
            st(200, 404, 200, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"uvci": ids["uvci_dung"], "reason": "thẻ mất / card lost"}},
        )
    ],
    # -- worklist (ward b1's items; ward a1's are An's tickets) -------------------------------
    "GET /worklist": [Case("GET", "/worklist", WORKLIST_STAFF, check=_total(WORKLIST_TOTAL))],
    "GET /worklist.xlsx": [Case("GET", "/worklist.xlsx", WORKLIST_STAFF)],
    "POST /worklist.xlsx": [
        Case(  # not a workbook: the roles that may import are told so (422), the others 403
            "POST",
            "/worklist.xlsx",
            st(422, 422, 422, 422, 422, 403, 403, 403, 401),
            kw=lambda ids: {"files": {"file": ("x.xlsx", b"not a workbook", "application/zip")}},
        )
    ],
    "GET /worklist/{item_id}": [Case("GET", "/worklist/{item_read}", IN_B1, check=_candidate_an)],
    "POST /worklist/{item_id}:accept": [Case("POST", "/worklist/{item_accept}:accept", IN_B1)],
    "POST /worklist/{item_id}:reject": [
        Case(
            "POST",
            "/worklist/{item_reject}:reject",
            IN_B1,
            kw=lambda ids: {"json": {"reason": "không phải người này / not this person"}},
        )
    ],
    "POST /worklist/{item_id}:edit": [
        Case(
            "POST",
            "/worklist/{item_edit}:edit",
            IN_B1,
            kw=lambda ids: {"json": {"fields": {"sex": "F"}, "reason": "theo thẻ / from card"}},
        )
    ],
    "POST /worklist/{item_id}:reopen": [
        Case(
            "POST",
            "/worklist/{item_decided}:reopen",
            # a commune may not reopen (403), but an item outside it does not exist for it (404)
            st(200, 404, 200, 404, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"reason": "xem lại / look again"}},
        )
    ],
    "POST /worklist:bulk-accept": [
        Case(
            "POST",
            "/worklist:bulk-accept",
            WORKLIST_STAFF,
            kw=lambda ids: {"json": {"ids": [ids["item_bulk"]]}},
            check=_bulk,
        )
    ],
    # -- tickets (An's, ward a1) --------------------------------------------------------------
    "GET /tickets": [
        Case(
            "GET",
            "/tickets",
            st(200, 200, 200, 200, 200, 403, 403, 200, 401),
            check=_total(TICKET_TOTAL),
        )
    ],
    "GET /tickets/{ticket_id}": [
        Case("GET", "/tickets/{ticket_phone}", st(200, 200, 404, 200, 404, 403, 403, 200, 401))
    ],
    "POST /tickets/{ticket_id}:start-review": [
        Case("POST", "/tickets/{ticket_phone}:start-review", TICKET_A1)
    ],
    "POST /tickets/{ticket_id}:reject": [
        Case(
            "POST",
            "/tickets/{ticket_phone}:reject",
            TICKET_A1,
            kw=lambda ids: {"json": {"reason": "số cũ vẫn đúng / the old number is right"}},
        )
    ],
    "POST /tickets/{ticket_id}:accept": [Case("POST", "/tickets/{ticket_name}:accept", TICKET_A1)],
    # -- statistics (aggregates: no personal data) --------------------------------------------
    # issue 17: every staff level has a dashboard, each its own area (a commune its ward, a
    # site itself and its ward); asking for another's area is a 403
    "GET /stats": [Case("GET", "/stats", STAFF)],
    "GET /stats/{name}": [
        Case(
            "GET",
            "/stats/coverage",
            st(200, 403, 200, 403, 200, 403, 200, 403, 401),
            kw=lambda ids: {"params": {"province": "40"}},
        ),
        Case("GET", "/stats/doses_by_product", STAFF),
        Case(
            "GET",
            "/stats/doses_per_day",
            st(200, 200, 403, 200, 403, 200, 403, 403, 401),
            kw=lambda ids: {"params": {"site": "S-A1"}},
        ),
        Case(
            "GET",
            "/stats/backlog",
            st(200, 403, 200, 403, 200, 403, 200, 403, 401),
            kw=lambda ids: {"params": {"ward": world().wards["b1"]}},
        ),
    ],
    "POST /stats:refresh": [
        Case("POST", "/stats:refresh", st(202, 202, 202, 403, 403, 403, 403, 403, 401))
    ],
    # -- writes that change what the reads above count: last --------------------------------
    "POST /doses": [
        Case(
            "POST",
            "/doses",
            st(201, 201, 403, 201, 403, 201, 403, 403, 401),
            kw=lambda ids: {
                "json": payload(None, full_name="Người Thử A", ward_code=world().wards["a1"])
            },
        ),
        Case(
            "POST",
            "/doses",
            st(201, 403, 201, 403, 201, 403, 201, 403, 401),
            kw=lambda ids: {
                "json": payload(
                    None,
                    full_name="Người Thử B",
                    ward_code=world().wards["b1"],
                    site_id=world().sites["b1"],
                )
            },
        ),
    ],
    "POST /doses:batch": [
        Case(
            "POST",
            "/doses:batch",
            st(200, 200, 200, 200, 200, 200, 200, 403, 401),
            kw=lambda ids: {
                "json": {
                    "doses": [payload(None, full_name="Người Thử C", ward_code=world().wards["a1"])]
                }
            },
            check=_batch_result(
                dict(
                    central=201,
                    prov_a=201,
                    prov_b=403,
                    ward_a1=201,
                    ward_b1=403,
                    site_a1=201,
                    site_b1=403,
                )
            ),
        )
    ],
    "POST /tickets": [
        Case(
            "POST",
            "/tickets",
            st(403, 403, 403, 403, 403, 403, 403, 201, 401),
            kw=lambda ids: {"json": {"field": "dob", "proposed_value": "13/04/1985"}},
        )
    ],
    # -- sites, catalogue, lots and stock (issue 17): managed inside the area --------------------
    "GET /lots": [Case("GET", "/lots", STAFF)],
    "GET /stock": [Case("GET", "/stock", STAFF)],
    "POST /sites": [
        Case(
            "POST",
            "/sites",
            st(201, 201, 403, 201, 403, 403, 403, 403, 401),
            kw=lambda ids: {
                "json": {"site_id": "S-NEW", "name": "Trạm mới", "ward_code": world().wards["a1"]}
            },
        )
    ],
    "PATCH /sites/{site_id}": [
        Case(
            "PATCH",
            "/sites/S-A1",
            st(200, 200, 404, 200, 404, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"name": "Trạm Y tế a1 (đổi tên)"}},
        )
    ],
    "POST /sites/{site_id}:close": [  # a2: no case below records there
        Case("POST", "/sites/S-A2:close", st(200, 200, 404, 404, 404, 403, 403, 403, 401))
    ],
    "PATCH /products/{code}": [
        Case(
            "PATCH",
            "/products/AZ",
            st(200, 403, 403, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"name": "AstraZeneca (Vaxzevria)"}},
        )
    ],
    "POST /lots": [
        Case(
            "POST",
            "/lots",
            st(201, 201, 403, 201, 403, 201, 403, 403, 401),
            kw=lambda ids: {
                "json": {
                    "site_id": "S-A1",
                    "product_code": "PFIZER",
                    "lot_number": "MX-2",
                    "expiry": "2099-12-31",
                    "doses": 10,
                }
            },
        )
    ],
    "POST /lots/{lot_id}:transfer": [
        Case(
            "POST",
            "/lots/{lot_mx}:transfer",
            st(200, 200, 403, 200, 403, 200, 403, 403, 401),
            kw=lambda ids: {"json": {"from_site": "S-A1", "to_site": "S-B1", "doses": 1}},
        )
    ],
    "POST /sessions/{session_id}/wastage": [
        Case(
            "POST",
            "/sessions/{session_a1}/wastage",
            st(201, 201, 404, 201, 404, 201, 404, 403, 401),
            kw=lambda ids: {"json": {"lot_number": "MX-1", "doses": 1}},
        )
    ],
    # -- session planning (issue 17): the staff of the site's area ---------------------------
    "POST /sessions": [
        Case(
            "POST",
            "/sessions",
            st(201, 201, 404, 201, 404, 201, 404, 403, 401),
            kw=lambda ids: {
                "json": {
                    "site_id": "S-A1",
                    "session_date": ids["today"],
                    "products": ["PFIZER"],
                    "time_slots": [{"start": "07:30", "end": "11:00", "capacity": 30}],
                }
            },
        )
    ],
    "GET /sessions/capacity": [
        Case(
            "GET",
            "/sessions/capacity",
            st(200, 200, 403, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {
                "params": {
                    "date_from": ids["today"],
                    "date_to": ids["today"],
                    "province_code": "01",
                }
            },
        )
    ],
    "POST /sessions/{session_id}:open": [Case("POST", "/sessions/{plan_a1}:open", AT_A1)],
    "POST /sessions/{session_id}:close": [
        Case("POST", "/sessions/{open_a1}:close", AT_A1, kw=lambda ids: {"json": {"opened": 0}})
    ],
    "POST /sessions/{session_id}:cancel": [Case("POST", "/sessions/{cancel_a1}:cancel", AT_A1)],
    # -- invitations (issue 18): the staff of the session's site's area; the overdue list:
    # communes and above (a site's list of invitations shows no phone numbers) -------------
    "POST /sessions/{session_id}/invitations:preview": [
        Case("POST", "/sessions/{plan_a1}/invitations:preview", AT_A1, kw=lambda ids: {"json": {}})
    ],
    "POST /sessions/{session_id}/invitations": [
        Case(
            "POST",
            "/sessions/{plan_a1}/invitations",
            st(201, 201, 404, 201, 404, 201, 404, 403, 401),
            kw=lambda ids: {"json": {}},
        )
    ],
    "GET /sessions/{session_id}/invitations": [
        Case("GET", "/sessions/{plan_a1}/invitations", AT_A1)
    ],
    "GET /overdue": [Case("GET", "/overdue", WORKLIST_STAFF)],
    "GET /overdue.xlsx": [Case("GET", "/overdue.xlsx", WORKLIST_STAFF)],
    # -- users and the audit log (issue 17): province and central, each within its area ------
    "GET /users": [Case("GET", "/users", STATS)],
    "GET /audit": [Case("GET", "/audit", STATS)],
    # the change feed: areas read it (their own changes), sites and citizens none
    "GET /changes": [Case("GET", "/changes", st(200, 200, 200, 200, 200, 403, 403, 403, 401))],
    # partners' webhooks (issue 19): central, and the staff whose area covers the client's
    # (the scene's client reads ward a1); another area's client is 404, sites and citizens 403
    "POST /webhooks": [
        Case(
            "POST",
            "/webhooks",
            st(201, 201, 404, 201, 404, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"client_id": ids["client_a1"], "url": HOOK_URL}},
        )
    ],
    "GET /webhooks": [Case("GET", "/webhooks", WORKLIST_STAFF)],
    "GET /webhooks/dead-letters": [Case("GET", "/webhooks/dead-letters", WORKLIST_STAFF)],
    "GET /webhooks/{sub_id}": [Case("GET", "/webhooks/{hook_a1}", HOOK_A1)],
    "POST /webhooks/{sub_id}:pause": [Case("POST", "/webhooks/{hook_a1}:pause", HOOK_A1)],
    "POST /webhooks/{sub_id}:resume": [Case("POST", "/webhooks/{hook_a1}:resume", HOOK_A1)],
    "POST /webhooks/dead-letters/{dead_id}:replay": [
        Case("POST", "/webhooks/dead-letters/{dead_a1}:replay", HOOK_A1)
    ],
    "POST /users": [
        Case(  # a commune user of ward a2 (province A)
            "POST",
            "/users",
            st(201, 201, 403, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {
                "json": {
                    "username": "matrix_new",
                    "password": USER_PASSWORD,
                    "role": "commune",
                    "ward_code": world().wards["a2"],
                }
            },
        )
    ],
    "PATCH /users/{user_id}": [
        Case(  # a site user of province A: province B does not see it
            "PATCH",
            "/users/{user_a}",
            st(200, 200, 404, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"disabled": True}},
        )
    ],
    "POST /users/{user_id}:reset-password": [
        Case(
            "POST",
            "/users/{user_a}:reset-password",
            st(200, 200, 404, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"password": "Sen-hong-giua-ho-19"}},
        )
    ],
    "POST /auth/password": [
        Case(  # the old password proves who asks: anybody's token (or none) is beside the point
            "POST",
            "/auth/password",
            PUBLIC,
            kw=lambda ids: {
                "json": {
                    "username": "matrix_pw",
                    "old_password": USER_PASSWORD,
                    "new_password": "Sen-hong-giua-ho-19",
                }
            },
        )
    ],
    # -- adverse events (issue 17): a site records for its doses; the area reads -------------
    # the scene: site a1 reported an event after An's dose (given at a1)
    "GET /aefi": [Case("GET", "/aefi", STAFF, check=_items(AEFI_TOTAL))],
    "GET /aefi/summary": [Case("GET", "/aefi/summary", STAFF, check=_reports(AEFI_TOTAL))],
    "GET /aefi/{report_id}": [
        Case("GET", "/aefi/{aefi_an}", st(200, 200, 404, 200, 404, 200, 404, 403, 401))
    ],
    "PATCH /aefi/{report_id}": [
        Case(  # only a site corrects, and only its own reports (another's: not found)
            "PATCH",
            "/aefi/{aefi_an}",
            st(403, 403, 403, 403, 403, 200, 404, 403, 401),
            kw=lambda ids: {"json": {"outcome": "recovered"}},
        )
    ],
    # a message belongs to the area that sent it: a site sees its ward's
    # a site lists no texts: its ward's carry phones of people it never met (and the links)
    "GET /messages": [
        Case("GET", "/messages", DECIDERS_READ, check=_items(MESSAGES_TOTAL)),
    ],
    # SMS templates: one text for the whole country, so the centre edits; the centre and
    # the provinces read and preview (a province asks the centre for a change)
    "GET /message-templates": [
        Case("GET", "/message-templates", TEMPLATES_READ, check=_items(TEMPLATES_ALL))
    ],
    "GET /message-templates/{key}": [Case("GET", "/message-templates/reminder", TEMPLATES_READ)],
    "PUT /message-templates/{key}": [
        Case(
            "PUT",
            "/message-templates/cancelled",
            TEMPLATES_EDIT,
            kw=lambda ids: {"json": {"body": "Huy buoi tiem {day} tai {site}"}},
        )
    ],
    "POST /message-templates/{key}:reset": [
        Case("POST", "/message-templates/moved_up:reset", TEMPLATES_EDIT)
    ],
    "POST /message-templates/{key}:preview": [
        Case(
            "POST",
            "/message-templates/otp:preview",
            TEMPLATES_READ,
            kw=lambda ids: {"json": {"body": "Ma {code}"}},
        )
    ],
    "POST /aefi": [
        Case(  # An's dose was given at site a1: site b1 does not find it
            "POST",
            "/aefi",
            st(403, 403, 403, 403, 403, 201, 404, 403, 401),
            kw=lambda ids: {"json": AEFI_BODY | {"dose_id": ids["an_dose"]}},
        )
    ],
    # -- old records uploaded as jobs (issue 17 point 3): the job's area is its site's -----
    # the scene: site a1 uploaded a file whose one row is refused (a rejects file exists)
    "GET /imports": [Case("GET", "/imports", STAFF, check=_job_seen)],
    "GET /imports/{job_id}": [
        Case("GET", "/imports/{job_a1}", st(200, 200, 404, 200, 404, 200, 404, 403, 401))
    ],
    "GET /imports/{job_id}/rejects": [
        Case("GET", "/imports/{job_a1}/rejects", st(200, 200, 404, 200, 404, 200, 404, 403, 401))
    ],
    "POST /imports": [
        Case(  # for site a1: its own site, its commune, its province, central
            "POST",
            "/imports",
            st(202, 202, 403, 202, 403, 202, 403, 403, 401),
            kw=lambda ids: {"files": [("files", ("a.csv", IMPORT_CSV))], "data": {"site": "S-A1"}},
        )
    ],
    # issue 18: organisations (in ward a1) and their rows; only their deciders (ward a1,
    # province A, central) see them, anyone else as if they did not exist
    "POST /organisations": [
        Case(
            "POST",
            "/organisations",
            st(*([201] * 9)),
            kw=lambda ids: {"json": ORG_BODY | {"ward_code": ids["ward_a1"]}},
        )
    ],
    "GET /organisations": [Case("GET", "/organisations", DECIDERS_READ)],
    "POST /organisations/{org_id}:approve": [
        Case("POST", "/organisations/{org_a1}:approve", DECIDE, kw=lambda ids: {"json": {}})
    ],
    "POST /organisations/{org_id}:refuse": [
        Case(
            "POST",
            "/organisations/{org_refuse}:refuse",
            DECIDE,
            kw=lambda ids: {"json": {"note": "thiếu hồ sơ / papers missing"}},
        )
    ],
    "POST /organisations/{org_id}/users": [
        Case(
            "POST",
            "/organisations/{org_a1}/users",
            st(201, 201, 403, 201, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"username": "org_matrix", "password": USER_PASSWORD}},
        )
    ],
    "GET /organisations/{org_id}/registrations": [
        Case("GET", "/organisations/{org_a1}/registrations", ORG_ROWS)
    ],
    "GET /priority-groups": [Case("GET", "/priority-groups", PUBLIC)],
    "PUT /priority-groups/{code}": [
        Case(
            "PUT",
            "/priority-groups/NQ21-03",
            st(200, 403, 403, 403, 403, 403, 403, 403, 401),
            kw=lambda ids: {"json": {"name_en": "The armed forces"}},
        )
    ],
    "POST /registrations": [
        Case(
            "POST",
            "/registrations",
            ORG_WRITE,
            kw=lambda ids: {"json": REG_ROW | {"organisation_id": ids["org_a1"]}},
        )
    ],
    "POST /registrations:batch": [
        Case(
            "POST",
            "/registrations:batch",
            ORG_WRITE,
            kw=lambda ids: {"json": {"organisation_id": ids["org_a1"], "rows": [REG_ROW]}},
        )
    ],
    "PATCH /registrations/sources/{source_id}": [
        Case(
            "PATCH",
            "/registrations/sources/{src_fix}",
            ORG_ROWS,
            kw=lambda ids: {"json": {"full_name": "Nguyễn Văn An"}},
        )
    ],
    "POST /registrations/sources/{source_id}:withdraw": [
        Case("POST", "/registrations/sources/{src_withdraw}:withdraw", ORG_ROWS)
    ],
}

#: person endpoints whose "not yours" must read exactly as "no such person"
NOBODY = {
    "GET /persons/{person_id}": ("GET", "/persons/P9999999"),
    "GET /persons/{person_id}/certificate": ("GET", "/persons/P9999999/certificate"),
    "POST /persons/{person_id}/certificate": ("POST", "/persons/P9999999/certificate"),
}


def api_routes() -> set[str]:
    """``METHOD /path`` of every API operation the app publishes (its own OpenAPI document,
    which FastAPI builds from the route table)."""
    from tiemchung.server import create_app

    app = create_app(Platform.__new__(Platform))  # routes only: nothing is started
    out = set()
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/fhir/R4/"):
            continue  # the FHIR API's own matrix: tests/api/test_fhir_api.py (FHIR_MATRIX)
        if path in ("/oauth/token", "/.well-known/smart-configuration"):
            continue  # partner clients' door, no staff role: tests/api/test_partner_clients.py
        assert path.startswith("/api/v1/"), path
        for method in operations:
            out.add(f"{method.upper()} {path.removeprefix('/api/v1')}")
    return out


def test_every_route_has_a_matrix_entry() -> None:
    """A new endpoint fails here until someone writes down who may call it."""
    served = api_routes()
    assert served - set(MATRIX) == set(), "endpoints without a scope-matrix entry"
    assert set(MATRIX) - served == set(), "matrix entries for endpoints that no longer exist"
    for key, cases in MATRIX.items():
        assert cases, key
        for case in cases:
            assert set(case.expected) == set(ROLES), key
            assert key.split(" ")[0] == case.method, key


# -- the scene ---------------------------------------------------------------------------------
def _scene(api: Api, platform: Platform, settings: Settings) -> dict[str, Any]:
    w = world()
    KeyStore.for_data_dir(settings.data_dir).init(now=KEYS_MADE)
    ids: dict[str, Any] = {}
    # a tracked lot at site a1 (MX-1: no dose case below uses it, so none is refused)
    lot = {"site_id": w.sites["a1"], "product_code": "PFIZER", "lot_number": "MX-1"}
    r = api.post("/lots", "central", json=lot | {"expiry": "2099-12-31", "doses": 100})
    assert r.status_code == 201, r.text
    ids["lot_mx"] = r.json()["lot_id"]
    with platform.sessions() as s:
        ids["session_a1"] = s.scalar(
            select(VaccinationSession.id).where(VaccinationSession.site_id == w.sites["a1"])
        )
    today = platform.today()
    ids["today"] = today.isoformat()
    with platform.sessions() as s:  # three sessions at site a1 today: to open, close, cancel
        for key in ("plan_a1", "open_a1", "cancel_a1"):
            plan = SessionPlan("S-A1", today, ["PFIZER"], capacity=20, allow_parallel=True)
            ids[key] = plan_session(s, Actor.system("scene"), plan, today).id
        open_session(s, Actor.system("scene"), ids["open_a1"], today)
        s.commit()
    for label, site in (("an", "a1"), ("em", "a1"), ("dung", "b1")):
        r = api.post("/doses", "central", json=payload(label, site_id=w.sites[site]))
        assert r.status_code == 201 and r.json()["status"] == "verified", r.text
        ids[f"{label}_dose"] = r.json()["id"]
    for label in ("an", "em", "dung"):
        r = api.post(f"/persons/{w.persons[label]['person_id']}/certificate", "central")
        assert r.status_code == 201, r.text
        ids[f"uvci_{label}"] = r.json()["uvci"]
        ids["hc1"] = r.json()["hc1"]
    items = []
    for n in range(5):
        r = api.post("/doses", "central", json=_stranger(n))
        assert r.status_code == 201 and r.json()["status"] == "unverified", r.text
        dose_id = r.json()["id"]
        cands = [("dung", 0.6, {"full_name": "Phạm Văn Dũng"})]
        if n == 0:  # a second candidate from another province (ward a1)
            cands.append(("an", 0.1, {"national_id": "001085123456", "phone": "0912000001"}))

        def make(s: Any, d: int = dose_id, c: Any = cands) -> int:
            return review_item(s, d, c, ward="b1")

        items.append(platform.writer.run(make))
    names = ("item_read", "item_accept", "item_reject", "item_edit", "item_bulk")
    ids.update(zip(names, items, strict=True))
    ids["item_decided"] = items[0]
    # the item to reopen is decided by central beforehand; "read" reads a decided item too
    r = api.post(f"/worklist/{items[0]}:reject", "central", json={"reason": "khác / other"})
    assert r.status_code == 200, r.text
    ids["item_read"] = items[0]
    for key, body in (
        (
            "ticket_phone",
            {"dose_id": ids["an_dose"], "field": "phone", "proposed_value": "0912999888"},
        ),
        ("ticket_name", {"field": "full_name", "proposed_value": "Nguyễn Văn Ân"}),
    ):
        r = api.post("/tickets", "citizen_an", json=body)
        assert r.status_code == 201, r.text
        ids[key] = r.json()["id"]
    r = api.post("/aefi", "site_a1", json=AEFI_BODY | {"dose_id": ids["an_dose"]})
    assert r.status_code == 201, r.text
    ids["aefi_an"] = r.json()["id"]
    r = api.post("/imports", "site_a1", files=[("files", ("a.csv", IMPORT_CSV))])
    assert r.status_code == 202, r.text
    ids["job_a1"] = r.json()["id"]
    assert runner_for(platform).wait_idle(60)
    with platform.sessions() as s:  # issue 18: two organisations of ward a1, rows of one
        load_priority_groups(s)
        s.commit()
    ids["ward_a1"] = w.wards["a1"]
    for key, code in (("org_a1", "0109990002"), ("org_refuse", "0109990003")):
        r = api.post(
            "/organisations", None, json=ORG_BODY | {"code": code, "ward_code": ids["ward_a1"]}
        )
        assert r.status_code == 201, r.text
        ids[key] = r.json()["id"]
    r = api.post(f"/organisations/{ids['org_a1']}:approve", "central", json={})
    assert r.status_code == 200, r.text
    rows = [REG_ROW | {"full_name": "Nguyen Van An"}, REG_ROW]
    r = api.post("/registrations:batch", "central", json={"organisation_id": ids["org_a1"],
                                                          "rows": rows})  # fmt: skip
    assert r.status_code == 201, r.text
    ids["src_fix"], ids["src_withdraw"] = (row["source_id"] for row in r.json()["rows"])
    for key, name, site in (("user_a", "matrix_a", "a1"), ("user_pw", "matrix_pw", "b1")):
        body = {"username": name, "password": USER_PASSWORD, "role": "site"}
        r = api.post("/users", "central", json=body | {"site_id": w.sites[site]})
        assert r.status_code == 201, r.text
        ids[key] = r.json()["id"]
    with (
        platform.sessions() as s
    ):  # issue 19: a partner client of ward a1, its webhook, a dead batch
        made = clients.add_client(s, Actor.system("scene"), "Đối tác a1", "changes.read",
                                  w.wards["a1"])  # fmt: skip
        ids["client_a1"] = made.client["client_id"]
        added = webhooks.add_subscription(s, Actor.system("scene"), ids["client_a1"], HOOK_URL)
        ids["hook_a1"] = added.subscription.id
        dead = WebhookDeadLetter(subscription_id=ids["hook_a1"], first_seq=1, last_seq=1,
                                 events=[], attempts=8, last_error="HTTP 500")  # fmt: skip
        s.add(dead)
        s.flush()
        ids["dead_a1"] = dead.id
        s.commit()
    with platform.sessions() as s:  # one text of ward a1's (an invitation to An)
        enqueue(
            s,
            phone="0912000111",
            body="Moi tiem",
            kind="invitation",
            ward_code=w.wards["a1"],
            province_code=PROVINCE_A,
        )
        s.commit()
    return ids


def _call(api: Api, role: str, case: Case, ids: dict[str, Any]) -> Any:
    who = None if role == "anonymous" else role
    path = case.path.format(**ids)
    kw = case.kw(ids)
    if case.note == "sign-in":
        user = "central" if role == "anonymous" else role
        return api.client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    if case.method == "GET":
        return api.get(path, who, **kw)
    if case.method == "PATCH":
        return api.client.patch(f"/api/v1{path}", headers=api.headers(who), **kw)
    if case.method == "PUT":
        return api.client.put(f"/api/v1{path}", headers=api.headers(who), **kw)
    return api.post(path, who, **kw)


@pytest.mark.parametrize("role", ROLES)
def test_scope_matrix(api: Api, platform: Platform, settings: Settings, role: str) -> None:
    ids = _scene(api, platform, settings)
    who = None if role == "anonymous" else role
    nobody = {}  # what each person endpoint answers for a person who does not exist
    for key, (method, path) in NOBODY.items():
        r = api.get(path, who) if method == "GET" else api.post(path, who)
        nobody[key] = r.json()["errors"]
    failures = []
    for key, cases in MATRIX.items():
        for case in cases:
            r = _call(api, role, case, ids)
            want = case.expected[role]
            if r.status_code != want:
                failures.append(f"{key} {case.path}: {r.status_code} != {want}: {r.text[:200]}")
                continue
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), key
                if r.status_code == 404 and key in NOBODY:  # as if there were no such person
                    assert r.json()["errors"] == nobody[key], (key, case.path)
                continue
            if r.headers["content-type"].startswith("application/json"):
                body = r.json()
                if isinstance(body, dict):
                    body.pop("typed", None)  # /verify echoes what the caller typed itself
                check_no_leak(role, json.dumps(body, ensure_ascii=False))
            if case.check is not None:
                case.check(role, r, ids)
    assert not failures, "\n".join(failures)
    # every read of a person is audited under the reader's name, and only a read that showed
    # something: Em is read by GET /persons/P-EM (site a1 among them) and in the list of
    # persons (central, province B); by no look-up or /verify here
    with platform.sessions() as session:
        em_reads = session.scalars(
            select(AuditEvent.username).where(
                AuditEvent.action == "person.read", AuditEvent.entity_id == "P-EM"
            )
        ).all()
    assert em_reads == [role] * EM_READS[role]


EM_READS = dict(
    central=2, prov_a=0, prov_b=2, ward_a1=0, ward_b1=0, site_a1=1, site_b1=0, citizen_an=0
) | {"anonymous": 0}
