"""AEFI reports (registry/aefi/) over SQLite and PostgreSQL: who may record and read, the
form's rules and their words, corrections kept in the audit log, the counts, and the cluster
rule on hand-made data whose expected flag is stated beside it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import PROVINCE_A, PROVINCE_B, resolve_scope, submission, world
from tiemchung.core import Platform
from tiemchung.registry.aefi import reports as aefi
from tiemchung.registry.aefi import signals
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AefiReport, AuditEvent
from tiemchung.registry.scope import Actor, Role

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2021, 10, 20)
DOSE_DAY = date(2021, 10, 1)
CENTRAL = Actor.system("tests")
PROV_A = Actor(None, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
PROV_B = Actor(None, "prov_b", Role.PROVINCE, province_code=PROVINCE_B)
WARD_A1 = Actor(None, "ward_a1", Role.COMMUNE, **resolve_scope({"ward_code": "a1"}))  # type: ignore[arg-type]
SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
SITE_B1 = Actor(None, "site_b1", Role.SITE, **resolve_scope({"site_id": "b1"}))  # type: ignore[arg-type]
CITIZEN = Actor(None, "an", Role.CITIZEN, person_pk=1)


def _dose(
    s, platform: Platform, actor: Actor = SITE_A1, site: str = "a1", lot: str = "PF-OK"
) -> int:  # type: ignore[no-untyped-def]
    product = {"PF-OK": "PFIZER", "AZ-OK": "AZ"}[lot]
    sub = submission(
        None,
        site_id=world().sites[site],
        product_code=product,
        lot_number=lot,
        dose_date=DOSE_DAY,
    )
    (result,) = record_doses(s, platform.catalog, actor, [sub], today=TODAY)
    assert result.status == 201, result.error
    assert result.dose is not None
    return int(result.dose["id"])


def _event(day: int = 2, **kw) -> aefi.AefiInput:  # type: ignore[no-untyped-def]
    base = dict(
        onset_at=datetime(2021, 10, day, 9, 30, tzinfo=TZ),
        symptoms=["fever", "local_reaction"],
        reporter_name="Nguyễn Thị Hoa",
        reporter_role="Điều dưỡng",
        reporter_contact="0912000000",
        outcome="recovered",
    )
    base.update(kw)
    return aefi.AefiInput(**base)  # type: ignore[arg-type]


def _rules(exc: pytest.ExceptionInfo[ServiceError]) -> dict[str, str]:
    return {p.field: p.rule for p in exc.value.problems}


def test_a_site_records_for_its_doses_and_the_area_reads(platform: Platform) -> None:
    with platform.sessions() as s:
        dose = _dose(s, platform)
        r = aefi.record_report(s, SITE_A1, dose, _event(), today=TODAY, tz=TZ)
        s.commit()
        assert (r.site_id, r.product_code, r.serious) == (world().sites["a1"], "PFIZER", False)
        # another site does not see the dose; others than sites do not record
        with pytest.raises(ServiceError) as exc:
            aefi.record_report(s, SITE_B1, dose, _event(), today=TODAY, tz=TZ)
        assert exc.value.status == 404
        for actor in (CENTRAL, WARD_A1, CITIZEN):
            with pytest.raises(ServiceError) as exc:
                aefi.record_report(s, actor, dose, _event(), today=TODAY, tz=TZ)
            assert exc.value.status == 403 and _rules(exc) == {"role": "role_not_allowed"}
        seen = {}
        for actor in (CENTRAL, PROV_A, PROV_B, WARD_A1, SITE_A1, SITE_B1):
            items, _ = aefi.list_reports(s, actor, aefi.AefiQuery(), tz=TZ)
            seen[actor.username] = [x.id for x in items]
        assert seen == {
            "tests": [r.id],
            "prov_a": [r.id],
            "prov_b": [],
            "ward_a1": [r.id],
            "site_a1": [r.id],
            "site_b1": [],
        }
        with pytest.raises(ServiceError) as exc:
            aefi.get_report(s, PROV_B, r.id)
        assert exc.value.status == 404
        with pytest.raises(ServiceError) as exc:
            aefi.list_reports(s, CITIZEN, aefi.AefiQuery(), tz=TZ)
        assert exc.value.status == 403
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "aefi.create"))
        assert event is not None and event.entity_id == str(r.id)
        assert event.username == "site_a1" and event.detail["dose_id"] == dose


def test_the_form_rules_refuse_with_words_in_both_languages(platform: Platform) -> None:
    with platform.sessions() as s:
        dose = _dose(s, platform)
        cases = [
            # onset the day before the dose (30 September)
            (_event(onset_at=datetime(2021, 9, 30, 23, 0, tzinfo=TZ)),
             {"onset_at": "before_dose"}),
            (_event(day=21), {"onset_at": "future_date"}),
            (_event(outcome="died", seriousness=["death"]), {"death_date": "required"}),
            (_event(outcome="died", death_date=date(2021, 10, 3)),
             {"seriousness": "death_mismatch"}),
            (_event(symptoms=[]), {"symptoms": "required"}),
            (_event(symptoms=["other"]), {"symptoms_other": "required"}),
            (_event(symptoms=["sneeze"], seriousness=["bad"], outcome="fine"),
             {"symptoms": "unknown_code", "seriousness": "unknown_code",
              "outcome": "unknown_code"}),
            (_event(reporter_name="  "), {"reporter_name": "required"}),
            (_event(death_date=date(2021, 10, 3)), {"death_date": "not_a_death"}),
        ]  # fmt: skip
        for data, want in cases:
            with pytest.raises(ServiceError) as exc:
                aefi.record_report(s, SITE_A1, dose, data, today=TODAY, tz=TZ)
            assert exc.value.status == 422
            assert _rules(exc) == want, data
        with pytest.raises(ServiceError) as exc:
            aefi.record_report(s, SITE_A1, dose, cases[0][0], today=TODAY, tz=TZ)
        p = exc.value.problems[0]
        assert "30/09/2021" in p.message_vi and "01/10/2021" in p.message_vi
        assert "2021-09-30" in p.message_en and "before the dose date" in p.message_en
        # the same day as the dose, an hour later, is fine; a death with its date too
        ok = _event(onset_at=datetime(2021, 10, 1, 0, 5, tzinfo=TZ))
        aefi.record_report(s, SITE_A1, dose, ok, today=TODAY, tz=TZ)
        died = _event(
            outcome="died", seriousness=["death", "hospitalisation"], death_date=date(2021, 10, 4)
        )
        r = aefi.record_report(s, SITE_A1, dose, died, today=TODAY, tz=TZ)
        assert r.serious is True


def test_a_correction_keeps_the_values_before_in_the_audit_log(platform: Platform) -> None:
    with platform.sessions() as s:
        dose = _dose(s, platform)
        r = aefi.record_report(s, SITE_A1, dose, _event(), today=TODAY, tz=TZ)
        s.commit()
        changes = {"outcome": "recovering", "seriousness": ["hospitalisation"]}
        r = aefi.correct_report(s, SITE_A1, r.id, changes, today=TODAY, tz=TZ)
        s.commit()
        assert (r.outcome, r.serious, r.version) == ("recovering", True, 2)
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "aefi.update"))
        assert event is not None and event.detail == {
            "outcome": ["recovered", "recovering"],
            "seriousness": [[], ["hospitalisation"]],
            "version": 2,
        }
        # a correction is checked whole: a death without its date is refused, nothing changes
        with pytest.raises(ServiceError) as exc:
            aefi.correct_report(
                s, SITE_A1, r.id, {"outcome": "died", "seriousness": ["death"]},
                today=TODAY, tz=TZ,
            )  # fmt: skip
        assert _rules(exc) == {"death_date": "required"}
        s.rollback()
        with pytest.raises(ServiceError) as exc:
            aefi.correct_report(s, SITE_A1, r.id, {"dose_id": 1}, today=TODAY, tz=TZ)
        assert _rules(exc) == {"dose_id": "not_editable"}
        with pytest.raises(ServiceError) as exc:
            aefi.correct_report(s, SITE_B1, r.id, {"notes": "x"}, today=TODAY, tz=TZ)
        assert exc.value.status == 404
        # the same values again: nothing written
        aefi.correct_report(s, SITE_A1, r.id, {"outcome": "recovering"}, today=TODAY, tz=TZ)
        s.commit()
        n = s.scalars(select(AuditEvent).where(AuditEvent.action == "aefi.update")).all()
        assert len(n) == 1


@pytest.mark.parametrize(
    ("onsets", "doses", "want"),
    [
        # three serious onsets on days 1, 4 and 7: within 7 days → burst
        ([1, 4, 7], 100_000, "burst"),
        # days 1, 4 and 8: the window 1..7 holds two, 4..10 holds two → no burst; 3 per 100,000
        # doses is 0.3 per 10,000 → no rate
        ([1, 4, 8], 100_000, None),
        # two serious on a lot of 2,000 doses: 10 per 10,000 → rate (at the threshold)
        ([1, 20], 2_000, "rate"),
        # two serious on 2,001 doses: just under 10 per 10,000 → nothing
        ([1, 20], 2_001, None),
        # one serious on 10 doses: 10,000 per 10,000, but one report is no cluster
        ([1], 10, None),
    ],
)
def test_the_cluster_rule(onsets: list[int], doses: int, want: str | None) -> None:
    days = [date(2021, 10, d) for d in onsets]
    assert signals.cluster_reason(days, doses, signals.DEFAULT_RULE) == want


def test_counts_by_lot_and_place_with_the_flag(platform: Platform) -> None:
    """Lot PF-OK: three doses at a1, one at b1; three serious reports at a1 within 3 days →
    flagged (burst). Lot AZ-OK: one dose at a1, a non-serious report → not flagged."""
    with platform.sessions() as s:
        pf = [_dose(s, platform) for _ in range(3)]
        pf_b1 = _dose(s, platform, actor=SITE_B1, site="b1")
        az = _dose(s, platform, lot="AZ-OK")
        serious = dict(seriousness=["hospitalisation"], outcome="recovering")
        for n, d in enumerate(pf):
            aefi.record_report(s, SITE_A1, d, _event(day=2 + n, **serious), today=TODAY, tz=TZ)
        aefi.record_report(s, SITE_B1, pf_b1, _event(day=5), today=TODAY, tz=TZ)
        aefi.record_report(s, SITE_A1, az, _event(day=3), today=TODAY, tz=TZ)
        s.commit()
        rows = signals.summarise(s, CENTRAL, aefi.AefiQuery(), tz=TZ)
        got = [(r.product_code, r.lot_number, r.reports, r.serious, r.flag_reason) for r in rows]
        assert got == [("AZ", "AZ-OK", 1, 0, None), ("PFIZER", "PF-OK", 4, 3, "burst")]
        # province B sees its one report, and the lot's flag (a property of the lot)
        rows = signals.summarise(s, PROV_B, aefi.AefiQuery(), tz=TZ, by="province")
        assert [(r.place_code, r.reports, r.serious, r.flagged) for r in rows] == [
            (PROVINCE_B, 1, 0, True)
        ]
        # filters: serious only, onsets from 3 October on
        q = aefi.AefiQuery(since=date(2021, 10, 3), serious=True)
        rows = signals.summarise(s, CENTRAL, q, tz=TZ, by="site")
        assert [(r.place_code, r.lot_number, r.reports) for r in rows] == [
            (world().sites["a1"], "PF-OK", 2)
        ]
        # PF-OK is flagged by its rate too (3 serious in 4 doses); a rule asking four in a
        # week and a rate of 10,000 per 10,000 (3 × 10,000 < 10,000 × 4) unflags it
        strict = signals.ClusterRule(burst_count=4, per_10k=10_000)
        assert signals.cluster_reason([date(2021, 10, d) for d in (2, 3, 4)], 4, strict) is None
        rows = signals.summarise(s, CENTRAL, aefi.AefiQuery(), tz=TZ, rule=strict)
        assert [r.flagged for r in rows] == [False, False]
        # the list carries the flag; keyset pages of two
        page, nxt = aefi.list_reports(s, CENTRAL, aefi.AefiQuery(), tz=TZ, limit=2)
        page2, nxt2 = aefi.list_reports(s, CENTRAL, aefi.AefiQuery(), tz=TZ, limit=2, before=nxt)
        page3, nxt3 = aefi.list_reports(s, CENTRAL, aefi.AefiQuery(), tz=TZ, limit=2, before=nxt2)
        ids = [r.id for r in page + page2 + page3]
        assert len(ids) == 5 and ids == sorted(ids, reverse=True) and nxt3 is None
        flags = {
            x["lot_number"]: x["lot_flagged"]
            for x in signals.reports_with_flags(s, page + page2 + page3, TZ)
        }
        assert flags == {"PF-OK": True, "AZ-OK": False}
        body = aefi.export_csv(signals.reports_with_flags(s, page, TZ)).decode("utf-8")
        lines = body.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("Mã báo cáo / Report id,") and len(lines) == 3
        assert "0912000000" not in body  # the reporter's contact does not travel


def test_an_onset_in_another_zone_is_the_same_instant(platform: Platform) -> None:
    """02:30 UTC on 2 October is 09:30 in Vietnam: stored and read back as 09:30 +07:00 on
    both backends, and a correction that sends the same instant in UTC changes nothing."""
    utc = ZoneInfo("UTC")
    with platform.sessions() as s:
        dose = _dose(s, platform)
        data = _event(onset_at=datetime(2021, 10, 2, 2, 30, tzinfo=utc))
        r = aefi.record_report(s, SITE_A1, dose, data, today=TODAY, tz=TZ)
        s.commit()
        s.expire_all()
        (row,) = signals.reports_with_flags(s, [s.get(AefiReport, r.id)], TZ)
        assert row["onset_at"].isoformat() == "2021-10-02T09:30:00+07:00"
        same = {"onset_at": datetime(2021, 10, 2, 2, 30, tzinfo=utc)}
        r = aefi.correct_report(s, SITE_A1, r.id, same, today=TODAY, tz=TZ)
        assert r.version == 1
        # the day filter reads Vietnam's days: 2 October holds it, 1 October does not
        q = aefi.AefiQuery(since=date(2021, 10, 2), until=date(2021, 10, 2))
        assert [x.id for x in aefi.list_reports(s, CENTRAL, q, tz=TZ)[0]] == [r.id]
        q = aefi.AefiQuery(until=date(2021, 10, 1))
        assert aefi.list_reports(s, CENTRAL, q, tz=TZ)[0] == []
