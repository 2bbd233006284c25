"""A random but reproducible vaccination history over the test world, with the rows kept in
plain Python so the tests can count the expected figures themselves (not with tiemchung.stats).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tests.factories import PROVINCE_A, PROVINCE_B, world
from tiemchung.registry.models import Correction, Dose, Person, ReviewItem, Tally

PRIMARY = {"PFIZER": 2, "AZ": 2, "ABDALA": 3}
START = date(2021, 9, 1)


@dataclass
class Scenario:
    persons: list[dict[str, Any]] = field(default_factory=list)  # id, dob, sex, ward, ...
    doses: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    tallies: list[dict[str, Any]] = field(default_factory=list)
    sites: dict[str, tuple[str, str]] = field(default_factory=dict)  # site -> (ward, province)


def make(session: Session, seed: int = 7, extra_people: int = 60) -> Scenario:
    rng = random.Random(seed)
    w = world()
    prov = {w.wards[k]: (PROVINCE_A if k[0] == "a" else PROVINCE_B) for k in w.wards}
    sc = Scenario()
    sc.sites = {w.sites[k]: (w.wards[k], prov[w.wards[k]]) for k in w.sites}
    new = []
    sexes = random.Random(seed + 1)  # its own sequence: the history's draws stay as they were
    for i in range(extra_people):
        ward = rng.choice(list(prov))
        y = rng.randint(1930, 2020)
        dob = rng.choice([f"{y}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", f"{y}", None])
        new.append(
            {
                "person_id": f"P-S{i}",
                "full_name": f"Người Thử {i}",
                "name_key": f"s{i}",
                "dob": dob,
                "sex": sexes.choice(["M", "F", "F", None]),
                "ward_code": ward,
                "province_code": prov[ward],
            }
        )
    session.execute(insert(Person), new)
    for pk, dob, sex, ward, province in session.execute(
        select(Person.id, Person.dob, Person.sex, Person.ward_code, Person.province_code)
    ):
        sc.persons.append({"id": pk, "dob": dob, "sex": sex, "ward": ward, "province": province})
    site_ids = sorted(sc.sites)
    rows = []

    def dose(**kw: Any) -> None:
        kw.setdefault("person_pk", None)
        rows.append(kw)

    for p in sc.persons:
        product = rng.choice(list(PRIMARY))
        day = START + timedelta(days=rng.randint(0, 40))
        for n in range(1, rng.randint(0, 4) + 1):
            site = rng.choice(site_ids)
            roll = rng.random()
            if roll < 0.75:
                dose(person_pk=p["id"], status="verified", area=(p["ward"], p["province"]))
            elif roll < 0.9:
                dose(status="unverified", area=sc.sites[site])
            else:
                dose(
                    status="duplicate",
                    person_pk=p["id"] if rng.random() < 0.5 else None,
                    area=(p["ward"], p["province"]),
                )
            rows[-1].update(
                product=product,
                dose_number=n,
                day=day,
                site=site,
                dob=p["dob"] if rng.random() < 0.7 else "1999-01-01",
            )
            day += timedelta(days=rng.randint(21, 60))
    for _ in range(15):  # records of people who are not in the register
        site = rng.choice(site_ids)
        dose(
            status="unverified",
            area=sc.sites[site],
            product="AZ",
            dose_number=1,
            day=START + timedelta(days=rng.randint(0, 60)),
            site=site,
            dob="1970",
        )
    stored = []
    for r in rows:
        stored.append(
            {
                "client_uuid": uuid.uuid4(),
                "submission_hash": "x" * 64,
                "full_name": "Người Thử",
                "dob": r["dob"],
                "product_code": r["product"],
                "dose_number": r["dose_number"],
                "dose_date": r["day"],
                "site_id": r["site"],
                "status": r["status"],
                "person_pk": r["person_pk"],
                "area_ward_code": r["area"][0],
                "area_province_code": r["area"][1],
            }
        )
    session.execute(insert(Dose), stored)
    ids = session.scalars(select(Dose.id).order_by(Dose.id)).all()
    for r, pk in zip(rows, ids, strict=True):
        r["id"] = pk
    sc.doses = rows
    fields = ["national_id", "dob", "full_name", "phone", "sex", "address"]
    for r in rows:
        if r["status"] == "verified" and rng.random() < 0.3:
            for f in rng.sample(fields, rng.randint(1, 2)):
                sc.corrections.append({"dose_id": r["id"], "field": f, "source": "automatic"})
        elif r["status"] == "unverified" and rng.random() < 0.8:
            kind = rng.choice(["review", "not_found", "ticket", "unverified"])
            status = rng.choice(["open", "open", "accepted", "rejected", "superseded"])
            mism = ";".join(rng.sample(fields, rng.randint(1, 3))) if kind == "review" else None
            sc.items.append(
                {
                    "dose_id": r["id"],
                    "kind": kind,
                    "status": status,
                    "ward_code": r["area"][0],
                    "province_code": r["area"][1],
                    "mismatches": mism,
                }
            )
    session.execute(insert(Correction), sc.corrections)
    session.execute(insert(ReviewItem), sc.items)
    recorded: dict[tuple[str, date, str], int] = {}
    for r in rows:
        if r["status"] != "duplicate":
            k = (r["site"], r["day"], r["product"])
            recorded[k] = recorded.get(k, 0) + 1
    for k, n in sorted(recorded.items()):
        if rng.random() < 0.85:  # some site-days sent no tally
            sc.tallies.append(
                {
                    "site_id": k[0],
                    "report_date": k[1],
                    "product_code": k[2],
                    "dose_number": None,
                    "reported": n + rng.randint(0, 3),
                }
            )
    sc.tallies.append(
        {
            "site_id": site_ids[0],
            "report_date": date(2022, 1, 5),
            "product_code": "PFIZER",
            "dose_number": None,
            "reported": 9,
        }
    )
    session.execute(insert(Tally), sc.tallies)
    session.commit()
    return sc
