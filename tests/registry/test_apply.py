"""Applying a reconciliation run to the registry (`apply_run`), on SQLite and PostgreSQL.

The runs here are hand-written ``links.parquet`` files over the invented world of
``tests.factories``: each expected row is written by hand. The bulk path is compared with the
one-dose reference path, :func:`link_dose`, on a copy of the same records.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import world
from tiemchung.core import Platform
from tiemchung.registry.imports import apply as apply_mod
from tiemchung.registry.imports.apply import ApplyError, apply_run
from tiemchung.registry.imports.backlog import import_dose_records
from tiemchung.registry.models import AuditEvent, Correction, Dose, Person, ReviewItem
from tiemchung.registry.review.corrections import COMPLETE_REASON, link_dose
from tiemchung.registry.scope import Actor

ACTOR = Actor.system("apply-test")
LINK_COLS = (
    "record_id",
    "person_id",
    "action",
    "match_probability",
    "mismatches",
    "corrections",
    "duplicate_of",
    "explanation",
    "candidates",
)


def _record(rid: str, person: str | None, **over: Any) -> dict[str, Any]:
    w = world()
    p = w.persons[person] if person else w.persons["an"]
    base = {
        "record_id": rid,
        "national_id": p["national_id"],
        "full_name": p["full_name"],
        "dob": p["dob"],
        "sex": p["sex"],
        "phone": p["phone"],
        "ward_code": w.wards[p["ward"]],
        "address": "Thôn 1",
        "vaccine": "AZ",
        "dose_number": "1",
        "dose_date": "15/08/2021",
        "site_id": w.sites[p["ward"]],
    }
    return base | over


def _link(rid: str, person_id: str | None, action: str, **over: Any) -> dict[str, Any]:
    row = {
        "record_id": rid,
        "person_id": person_id,
        "action": action,
        "match_probability": 1.0 if action in ("verified", "corrected", "duplicate") else 0.0,
        "mismatches": "",
        "corrections": "{}" if person_id else None,
        "duplicate_of": None,
        "explanation": "exact pass",
        "candidates": None,
    }
    return row | over


def _write_run(out: Path, links: list[dict[str, Any]], model: str = '{"pi": 0.9}') -> Path:
    """A run's files; the ``incomplete`` column only when a link has one (the other runs
    stand for runs made before the column existed, which still apply)."""
    out.mkdir(parents=True, exist_ok=True)
    cols = LINK_COLS + (("incomplete",) if any("incomplete" in r for r in links) else ())
    table = pa.table(
        {
            c: pa.array(
                [r.get(c) for r in links],
                pa.float64() if c == "match_probability" else pa.string(),
            )
            for c in cols
        }
    )
    pq.write_table(table, out / "links.parquet")
    (out / "model.json").write_text(model, encoding="utf-8")
    return out


TWO_CANDIDATES = json.dumps(
    [
        {
            "person_id": "P-AN",
            "match_probability": 0.61,
            "mismatches": ["national_id"],
            "corrections": {},
        },
        {
            "person_id": "P-CUONG",
            "match_probability": 0.38,
            "mismatches": ["national_id", "full_name", "dob"],
            "corrections": {"full_name": "Lê Mạnh Cường", "dob": "1978"},
        },
    ]
)


def _backlog() -> list[dict[str, Any]]:
    return [
        _record("R1", "an"),
        _record("R2", "binh", full_name="Tran Thi Binh", dob="02/01/1990"),
        _record("R3", "binh", full_name="Tran Thi Binh", dob="02/01/1990", dose_date="16/08/2021"),
        _record("R4", None, national_id=None, full_name="Nguyễn Văn Ân", dob="1985"),
        _record("R5", None, national_id="001099000000", full_name="Đinh Văn Lạ", dob="1999"),
        _record("R6", "dung"),
        _record("R7", "em"),
        _record("R8", "cuong", full_name="Le Manh Cuong"),
    ]


def _run_a() -> list[dict[str, Any]]:
    fix = {"full_name": "Trần Thị Bình", "dob": "1990-11-02"}
    return [
        _link("R1", "P-AN", "verified"),
        _link(
            "R2",
            "P-BINH",
            "corrected",
            mismatches="full_name;dob",
            corrections=json.dumps(fix, ensure_ascii=False),
            match_probability=0.9999,
            explanation="id exact +20.1; name different -3.0; dob d/m swapped +9.2",
        ),
        _link(
            "R3",
            "P-BINH",
            "duplicate",
            duplicate_of="R2",
            mismatches="full_name;dob",
            corrections=json.dumps(fix, ensure_ascii=False),
        ),
        _link(
            "R4",
            "P-AN",
            "review",
            match_probability=0.61,
            mismatches="national_id",
            explanation="name jw>=0.95 +8.0; runner-up P-CUONG +7.3",
            candidates=TWO_CANDIDATES,
        ),
        _link("R5", None, "not_found", explanation="no candidate in the register"),
        # R6 is stored but not in this run; GHOST is in the run but not stored
        _link("GHOST", "P-AN", "verified"),
        _link("R7", "P-NOBODY", "verified"),
        _link(
            "R8",
            "P-CUONG",
            "corrected",
            mismatches="full_name",
            corrections=json.dumps({"full_name": "Lê Mạnh Cường"}, ensure_ascii=False),
        ),
    ]


def _load(platform: Platform, rows: list[dict[str, Any]]) -> None:
    with platform.sessions() as s:
        rep = import_dose_records(s, ACTOR, rows, rejects_path=None)
        assert rep.rows_rejected == 0, rep.reasons


def _doses(s: Session) -> dict[str, Dose]:
    return {d.record_id: d for d in s.scalars(select(Dose).where(Dose.record_id.is_not(None)))}


def _pk(s: Session, person_id: str) -> int:
    pk = s.scalar(select(Person.id).where(Person.person_id == person_id))
    assert pk is not None
    return pk


def test_apply_links_corrects_marks_duplicates_and_opens_items(
    platform: Platform, tmp_path: Path
) -> None:
    _load(platform, _backlog())
    out = _write_run(tmp_path / "run_a", _run_a())
    w = world()
    with platform.sessions() as s:
        report = apply_run(s, ACTOR, out)
    assert not report.already_applied and len(report.run_id) == 40
    assert (report.links, report.linked, report.verified, report.corrected) == (8, 3, 1, 2)
    assert (report.corrections, report.duplicates) == (3, 1)
    assert (report.review_items, report.not_found_items) == (1, 1)
    assert (report.records_not_in_registry, report.persons_not_in_registry) == (1, 1)
    assert report.doses_not_in_links == 1
    with Path(report.rejects_file or "").open(encoding="utf-8") as fh:
        rejects = {r["record_id"]: r for r in csv.DictReader(fh)}
    assert set(rejects) == {"GHOST", "R7", "R6"}
    assert rejects["GHOST"]["row"] == "6" and "no stored dose" in rejects["GHOST"]["reason"]
    assert "person_id" in rejects["R7"]["reason"] and rejects["R6"]["row"] == "0"
    with platform.sessions() as s:
        d = _doses(s)
        an, binh = _pk(s, "P-AN"), _pk(s, "P-BINH")
        assert (d["R1"].status, d["R1"].person_pk, d["R1"].link_source) == (
            "verified",
            an,
            "reconcile",
        )
        assert d["R1"].run_id == report.run_id and d["R1"].match_probability == 1.0
        assert (d["R2"].full_name, d["R2"].dob, d["R2"].person_pk) == (
            "Trần Thị Bình",
            "1990-11-02",
            binh,
        )
        # the duplicate keeps its fields as entered and points at the first entry
        assert (d["R3"].status, d["R3"].duplicate_of, d["R3"].full_name) == (
            "duplicate",
            d["R2"].id,
            "Tran Thi Binh",
        )
        assert d["R3"].person_pk == binh
        for rid in ("R4", "R5", "R6", "R7"):
            assert (d[rid].status, d[rid].person_pk) == ("unverified", None), rid
        assert d["R8"].area_ward_code == w.wards["a2"] and d["R8"].full_name == "Lê Mạnh Cường"
        corr = {
            (c.dose_id, c.field): c
            for c in s.scalars(select(Correction).where(Correction.source == "automatic"))
        }
        assert set(corr) == {
            (d["R2"].id, "full_name"),
            (d["R2"].id, "dob"),
            (d["R8"].id, "full_name"),
        }
        c = corr[(d["R2"].id, "dob")]
        assert (c.old_value, c.new_value, c.run_id, c.person_pk) == (
            "1990-01-02",
            "1990-11-02",
            report.run_id,
            binh,
        )
        assert c.evidence == {
            "match_probability": 0.9999,
            "explanation": "id exact +20.1; name different -3.0; dob d/m swapped +9.2",
        }
        items = {i.dose_id: i for i in s.scalars(select(ReviewItem))}
        assert set(items) == {d["R4"].id, d["R5"].id}
        r4, r5 = items[d["R4"].id], items[d["R5"].id]
        assert (r4.kind, r4.status, r4.ward_code, r4.person_pk) == (
            "review",
            "open",
            w.wards["a1"],
            an,
        )
        assert [c["person_id"] for c in r4.candidates] == ["P-AN", "P-CUONG"]
        assert r4.candidates[1]["corrections"] == {"full_name": "Lê Mạnh Cường", "dob": "1978"}
        assert "nhiều người" in (r4.reason or "")
        # nobody found: routed to the record's own ward (An's ward, where R5 was entered)
        assert (r5.kind, r5.ward_code, r5.person_pk, r5.candidates) == (
            "not_found",
            w.wards["a1"],
            None,
            [],
        )
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "reconcile.apply")).all()
        assert len(events) == 1 and events[0].detail["corrections"] == 3


def _snapshot(s: Session) -> dict[str, Any]:
    def rows(model: type, *skip: str) -> list[tuple[Any, ...]]:
        cols = [c for c in model.__table__.columns if c.name not in skip]  # type: ignore[attr-defined]
        return sorted(tuple(r) for r in s.execute(select(*cols)).all())

    return {
        "doses": rows(Dose, "created_at"),
        "corrections": rows(Correction, "created_at", "evidence"),
        "items": rows(ReviewItem, "created_at", "candidates"),
        "audit": len(rows(AuditEvent, "at", "detail")),
    }


def test_applying_the_same_run_twice_changes_nothing(platform: Platform, tmp_path: Path) -> None:
    _load(platform, _backlog())
    out = _write_run(tmp_path / "run_a", _run_a())
    with platform.sessions() as s:
        first = apply_run(s, ACTOR, out)
        before = _snapshot(s)
    # a copy of the same files elsewhere is the same run
    copy = _write_run(tmp_path / "copy", _run_a())
    with platform.sessions() as s:
        again = apply_run(s, ACTOR, copy)
        assert again.already_applied and again.run_id == first.run_id
        assert again.corrections == 0 and again.links == 0
        assert _snapshot(s) == before


def test_a_commune_decision_survives_reapply_and_a_newer_run(
    platform: Platform, tmp_path: Path
) -> None:
    _load(platform, _backlog())
    with platform.sessions() as s:
        a = apply_run(s, ACTOR, _write_run(tmp_path / "a", _run_a()))
    commune = Actor.system("xa-reviewer")
    with platform.sessions() as s:
        d = _doses(s)
        cuong = s.scalar(select(Person).where(Person.person_id == "P-CUONG"))
        item = s.scalar(select(ReviewItem).where(ReviewItem.dose_id == d["R4"].id))
        assert item is not None and cuong is not None
        link_dose(s, commune, d["R4"], cuong, source="review", reason="gặp trực tiếp")
        item.status = "accepted"
        s.commit()
    # a newer run says R4 is An's (automatically) and still cannot find R5
    newer = [r for r in _run_a() if r["record_id"] not in ("GHOST", "R7")]
    newer[3] = _link("R4", "P-AN", "verified", match_probability=0.9995)
    newer[4] = _link("R5", None, "not_found", explanation="still nobody")
    with platform.sessions() as s:
        b = apply_run(s, ACTOR, _write_run(tmp_path / "b", newer, '{"pi": 0.8}'))
    assert b.run_id != a.run_id and b.kept_person_decision == 1
    assert b.superseded == 1 and b.not_found_items == 1
    with platform.sessions() as s:
        d = _doses(s)
        assert (d["R4"].person_pk, d["R4"].link_source) == (_pk(s, "P-CUONG"), "review")
        assert d["R4"].run_id is None  # the decision is the commune's, not a run's
        r5 = s.scalars(select(ReviewItem).where(ReviewItem.dose_id == d["R5"].id)).all()
        assert sorted((i.run_id == b.run_id, i.status) for i in r5) == [
            (False, "superseded"),
            (True, "open"),
        ]
        # R1..R3 already had run A's values: run B changes no field, only the run id
        assert d["R1"].run_id == b.run_id
        n_corr = len(s.scalars(select(Correction).where(Correction.source == "automatic")).all())
        assert n_corr == 3
        open_per_dose: dict[int, int] = {}
        for i in s.scalars(select(ReviewItem).where(ReviewItem.status == "open")):
            open_per_dose[i.dose_id] = open_per_dose.get(i.dose_id, 0) + 1
        assert set(open_per_dose.values()) == {1}


def test_a_newer_run_unlinks_what_it_no_longer_vouches_for(
    platform: Platform, tmp_path: Path
) -> None:
    _load(platform, _backlog())
    with platform.sessions() as s:
        apply_run(s, ACTOR, _write_run(tmp_path / "a", _run_a()))
    newer = [_link("R1", "P-AN", "review", match_probability=0.7, explanation="x")]
    with platform.sessions() as s:
        b = apply_run(s, ACTOR, _write_run(tmp_path / "b", newer))
    assert (b.unlinked, b.review_items) == (1, 1)
    with platform.sessions() as s:
        r1 = _doses(s)["R1"]
        assert (r1.status, r1.person_pk, r1.run_id) == ("unverified", None, b.run_id)


def test_bad_runs_are_refused_with_the_file_named(platform: Platform, tmp_path: Path) -> None:
    with platform.sessions() as s:
        with pytest.raises(ApplyError, match=r"links\.parquet"):
            apply_run(s, ACTOR, tmp_path / "nothing-here")
        out = tmp_path / "bad"
        out.mkdir()
        pq.write_table(pa.table({"record_id": ["R1"]}), out / "links.parquet")
        (out / "model.json").write_text("{}", encoding="utf-8")
        with pytest.raises(ApplyError, match=r"missing column.*'action'"):
            apply_run(s, ACTOR, out)


def test_unreadable_link_rows_are_rejected_not_dropped(platform: Platform, tmp_path: Path) -> None:
    _load(platform, _backlog()[:2])
    links = [
        _link("R1", "P-AN", "maybe"),
        _link("R2", "P-BINH", "corrected", corrections='{"blood_type": "O"}'),
        _link("R2", "P-BINH", "verified"),
    ]
    with platform.sessions() as s:
        rep = apply_run(s, ACTOR, _write_run(tmp_path / "x", links))
    assert rep.reasons == {
        "action:unknown": 1,
        "corrections:unreadable": 1,
        "record_id:repeated": 1,
    }
    assert rep.rows_rejected == 3 and rep.linked == 0


# -- the bulk path writes what link_dose writes ------------------------------------------------
def _variants() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Records of every kind for every world person, and the links a run would give."""
    w = world()
    recs, links = [], []
    n = 0
    for label, p in w.persons.items():
        truth = {
            "national_id": p["national_id"],
            "full_name": p["full_name"],
            "dob": p["dob"],
            "ward_code": w.wards[p["ward"]],
        }
        wrongs: list[dict[str, str]] = [
            {},
            {"full_name": "Sai Ten"},
            {"dob": "1901-01-01"},
            {"national_id": "001000000001", "ward_code": w.wards["b2"]},
            {"full_name": p["full_name"].upper()},  # formatting the store already cleaned
        ]
        # incomplete fields (completed from the register), alone or beside a wrong one
        blanks: list[tuple[dict[str, Any], dict[str, str]]] = [
            ({"national_id": None, "sex": None}, {}),
            ({"dob": p["dob"][:4], "ward_code": None}, {}),
            ({"dob": p["dob"][:4]}, {"full_name": "Sai Ten"}),
        ]
        for k, (blank, wrong) in enumerate([({}, w) for w in wrongs] + blanks):
            n += 1
            rid = f"{label}-{k}"
            recs.append(_record(rid, label, dose_number=str(k + 1), **blank, **wrong))
            fix = {f: truth[f] for f in wrong}
            links.append(
                _link(
                    rid,
                    p["person_id"],
                    "corrected" if fix else "verified",
                    mismatches=";".join(fix),
                    corrections=json.dumps(fix, ensure_ascii=False),
                    **({"incomplete": ";".join(blank)} if blank else {}),
                    match_probability=0.999 + k / 10_000,
                    explanation=f"case {n}",
                )
            )
        dup = f"{label}-dup"
        recs.append(_record(dup, label, dose_number="1", dose_date="16/08/2021"))
        links.append(_link(dup, p["person_id"], "duplicate", duplicate_of=f"{label}-0"))
    return recs, links


def _prefixed(rows: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        r = dict(r, record_id=prefix + r["record_id"])
        if r.get("duplicate_of"):
            r["duplicate_of"] = prefix + r["duplicate_of"]
        out.append(r)
    return out


def test_bulk_apply_writes_exactly_what_link_dose_writes(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs, links = _variants()
    _load(platform, _prefixed(recs, "A") + _prefixed(recs, "B"))
    monkeypatch.setattr(apply_mod, "CHUNK_ROWS", 7)  # duplicates and their first across chunks
    with platform.sessions() as s:
        rep = apply_run(s, ACTOR, _write_run(tmp_path / "a", _prefixed(links, "A")))
    assert rep.doses_not_in_links == len(recs)  # the B copies
    # the reference: one link_dose call per record, as the worklist and tickets use it
    with platform.sessions() as s:
        d = _doses(s)
        for r in _prefixed(links, "B"):
            person = s.scalar(select(Person).where(Person.person_id == r["person_id"]))
            p, expl = r["match_probability"], r["explanation"]
            dup = r["action"] == "duplicate"
            dose = d[r["record_id"]]
            assert person is not None
            blank = [f for f in (r.get("incomplete") or "").split(";") if f]
            link_dose(
                s,
                ACTOR,
                dose,
                person,
                source="automatic",
                corrections={} if dup else json.loads(r["corrections"]),
                completions={f: getattr(person, f) for f in blank},
                status="duplicate" if dup else None,
                run_id=rep.run_id,
                probability=p,
                evidence={"match_probability": p, "explanation": expl},
            )
            dose.duplicate_of = d[r["duplicate_of"]].id if dup else None
        s.commit()
    with platform.sessions() as s:
        d = _doses(s)
        by_id = {dose.id: rid for rid, dose in d.items()}
        cols = [c.name for c in Dose.__table__.columns]
        # updated_at: the time of each change, which two applications never share
        skip = {"id", "client_uuid", "record_id", "created_at", "updated_at", "submission_hash"}
        skip.add("entered_by")

        def state(rid: str) -> dict[str, Any]:
            dose = d[rid]
            out = {c: getattr(dose, c) for c in cols if c not in skip}
            out["duplicate_of"] = by_id[dose.duplicate_of][1:] if dose.duplicate_of else None
            return out

        mismatched = [rid[1:] for rid in d if rid[0] == "A" and state(rid) != state("B" + rid[1:])]
        assert mismatched == []
        assert sum(1 for rid in d if d[rid].status == "verified") == 2 * 5 * 8

        def corrections(prefix: str) -> list[tuple[Any, ...]]:
            rows = s.scalars(select(Correction)).all()
            return sorted(
                (
                    by_id[c.dose_id][1:],
                    c.field,
                    c.old_value,
                    c.new_value,
                    c.source,
                    c.user_id,
                    c.reason,
                    c.run_id,
                    c.person_pk,
                    json.dumps(c.evidence, sort_keys=True),
                )
                for c in rows
                if by_id[c.dose_id][0] == prefix
            )

        a, b = corrections("A"), corrections("B")
        # 5 persons x (name, dob, ID + ward); the upper-case name was cleaned on import and
        # Em already lives in ward b2: no change, no row. Completions: 5 x (ID + sex), 5
        # wards, 4 dates twice (Cường's register date is the year only: nothing to add), and
        # the 5 wrong names beside them
        assert a == b and len(a) == (5 * 4 - 1) + 10 + 5 + 4 + 4 + 5
        assert sum(1 for row in a if row[6] == COMPLETE_REASON) == 10 + 5 + 4 + 4

        def audits(prefix: str) -> list[tuple[Any, ...]]:
            rows = s.scalars(select(AuditEvent).where(AuditEvent.entity == "dose")).all()
            return sorted(
                (
                    by_id[int(e.entity_id)][1:],
                    e.action,
                    e.user_id,
                    e.username,
                    json.dumps(e.detail, sort_keys=True),
                )
                for e in rows
                if e.action in ("dose.link", "dose.correct", "dose.complete")
                and by_id[int(e.entity_id)][0] == prefix
            )

        assert audits("A") == audits("B") and len(audits("A")) == len(links)
