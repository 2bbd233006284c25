"""Commune worklists: scoping, side-by-side detail, each decision's effect, 409s, bulk, races.

World (tests/factories.py): wards a1, a2 (province A), b1, b2 (province B); persons an, binh
(a1), cuong (a2), dung (b1), em (b2). Each test makes its own doses and review items.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import review_item, submission, world
from tiemchung.auth.users import actor_for
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent, Correction, Dose, Person, ReviewItem, User
from tiemchung.registry.review import decisions as wd
from tiemchung.registry.review import worklists as wl
from tiemchung.registry.scope import Actor

T = TypeVar("T")
SYSTEM = Actor.system("tests")
EXPLANATION = "id 1 digit wrong +9.1; name exact +13.3tf; dob exact +8.0; runner-up P-BINH -2.5"


def run(platform: Platform, job: Callable[[Session], T]) -> T:
    return platform.writer.run(job)


def who(platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return actor_for(user)


def dose(platform: Platform, **overrides: Any) -> int:
    """An unverified dose of 'an' typed with one ID digit wrong and shouting capitals."""
    fields: dict[str, Any] = dict(
        full_name="NGUYỄN  VĂN AN",
        national_id="001085123457",
        dob="12/04/1985",
        sex="Nam",
        ward_code=world().wards["a1"],
    )
    fields.update(overrides)
    sub = submission(None, **fields)
    results = run(
        platform,
        lambda s: record_doses(s, platform.catalog, SYSTEM, [sub], today=date(2022, 6, 1)),
    )
    assert results[0].dose is not None, results[0].error
    assert results[0].dose["status"] == "unverified"
    return int(results[0].dose["id"])


def item(platform: Platform, dose_id: int, *cands: tuple[str, float, dict[str, str]], **kw: Any):
    return run(platform, lambda s: review_item(s, dose_id, list(cands), **kw))


def an_item(platform: Platform, nid: str = "001085123457", **kw: Any) -> tuple[int, int]:
    """A dose of 'an' with a wrong ID digit (``nid``: one record per ID) and its item."""
    d = dose(platform, national_id=nid)
    i = item(
        platform,
        d,
        ("an", 0.97, {"national_id": "001085123456"}),
        ("binh", 0.01, {"national_id": "001190654321", "full_name": "Trần Thị Bình"}),
        explanation=EXPLANATION,
        **kw,
    )
    return d, i


def error_of(platform: Platform, job: Callable[[Session], Any]) -> tuple[int, str]:
    with pytest.raises(ServiceError) as exc:
        run(platform, job)
    return exc.value.status, exc.value.problems[0].rule


def test_scoping_by_role(platform: Platform) -> None:
    _, a1 = an_item(platform)
    _, a1b = an_item(platform, "001085123458")
    d_b1 = dose(platform, full_name="Pham Van Dung", national_id="040065333440")
    b1 = item(platform, d_b1, ("dung", 0.9, {}), ward="b1")

    def total(username: str, **q: Any) -> int:
        with platform.sessions() as s:
            return wl.list_items(s, who(platform, username), wl.WorklistQuery(**q)).total

    assert total("central") == 3
    assert total("prov_a") == 2
    assert total("prov_b") == 1
    assert total("ward_a1") == 2
    assert total("ward_b1") == 1
    assert total("prov_a", ward_code=world().wards["a1"]) == 2
    assert total("prov_a", ward_code=world().wards["a2"]) == 0
    with platform.sessions() as s:
        page = wl.list_items(s, who(platform, "ward_a1"), wl.WorklistQuery())
        assert [x["id"] for x in page.items] == [a1, a1b]
        # another ward's item is invisible (404), another ward's filter refused (403)
        with pytest.raises(ServiceError) as exc:
            wl.get_item(s, who(platform, "ward_a1"), b1)
        assert exc.value.status == 404
        with pytest.raises(ServiceError) as exc:
            wl.list_items(
                s, who(platform, "ward_a1"), wl.WorklistQuery(ward_code=world().wards["b1"])
            )
        assert exc.value.status == 403
        with pytest.raises(ServiceError) as exc:
            wl.list_items(
                s, who(platform, "prov_a"), wl.WorklistQuery(ward_code=world().wards["b1"])
            )
        assert exc.value.status == 403
        for username in ("site_a1", "citizen_an"):
            with pytest.raises(ServiceError) as exc:
                wl.list_items(s, who(platform, username), wl.WorklistQuery())
            assert exc.value.status == 403
    # a commune cannot decide another ward's item: 404, and it stays open
    assert error_of(platform, lambda s: wd.accept(s, who(platform, "ward_a1"), b1)) == (
        404,
        "not_found",
    )
    assert error_of(platform, lambda s: wd.accept(s, who(platform, "site_a1"), a1))[0] == 403
    with platform.sessions() as s:
        assert s.get(ReviewItem, b1).status == "open"  # type: ignore[union-attr]


def test_filters_counts_and_search(platform: Platform) -> None:
    _, i1 = an_item(platform)
    d2 = dose(platform, full_name="Trần Thị Bìn", national_id="001190654321", dob="02/11/1990")
    i2 = item(platform, d2, ("binh", 0.8, {"full_name": "Trần Thị Bình"}))
    ward = who(platform, "ward_a1")
    run(platform, lambda s: wd.accept(s, ward, i1))
    with platform.sessions() as s:
        page = wl.list_items(s, ward, wl.WorklistQuery())
        assert [x["id"] for x in page.items] == [i2]
        assert page.counts == {
            "open": 1,
            "accepted": 1,
            "rejected": 0,
            "edited": 0,
            "superseded": 0,
        }
        everything = wl.list_items(s, ward, wl.WorklistQuery(status=None))
        assert everything.total == 2
        by_field = wl.list_items(s, ward, wl.WorklistQuery(status=None, field="national_id"))
        assert [x["id"] for x in by_field.items] == [i1]
        # name search without diacritics finds the candidate's folded name
        found = wl.list_items(s, ward, wl.WorklistQuery(status=None, q="tran thi binh"))
        assert [x["id"] for x in found.items] == [i2]
        found = wl.list_items(s, ward, wl.WorklistQuery(status=None, q="văn an"))
        assert [x["id"] for x in found.items] == [i1]
        found = wl.list_items(s, ward, wl.WorklistQuery(status=None, q="001190654321"))
        assert [x["id"] for x in found.items] == [i2]
        paged = wl.list_items(s, ward, wl.WorklistQuery(status=None, limit=1, offset=1))
        assert [x["id"] for x in paged.items] == [i2] and paged.total == 2
        with pytest.raises(ServiceError) as exc:
            wl.list_items(s, ward, wl.WorklistQuery(status="done"))
        assert (exc.value.status, exc.value.problems[0].field) == (422, "status")


def test_detail_marks_only_real_differences_and_explains(platform: Platform) -> None:
    d, i = an_item(platform)
    with platform.sessions() as s:
        detail = wl.get_item(s, who(platform, "ward_a1"), i)
    assert detail["dose_id"] == d
    assert detail["record"]["full_name"] == "Nguyễn Văn An"
    best = detail["candidates"][0]
    assert best["person_id"] == "P-AN" and best["in_register"]
    # "12/04/1985" against "1985-04-12" and capitals: formatting only, not marked
    assert best["differing"] == ["national_id"]
    side = {f["field"]: f for f in best["fields"]}
    assert side["national_id"]["record"] == "001085123457"
    assert side["national_id"]["register"] == "001085123456"
    assert side["dob"]["differs"] is False
    assert (side["phone"]["state"], side["phone"]["register"]) == ("missing_record", "0912000001")
    runner = detail["candidates"][1]
    assert set(runner["differing"]) == {"national_id", "full_name", "dob", "sex"}
    words = detail["explanation"]
    assert [w["code"] for w in words] == [
        "national_id:1 digit wrong",
        "full_name:exact",
        "dob:exact",
        "runner-up",
    ]
    assert words[0]["vi"].startswith("Số định danh khác một chữ số")
    assert words[0]["weight"] == 9.1
    assert "common name" in words[1]["en"]
    assert "P-BINH" in words[3]["vi"]


def test_unknown_explanation_segments_are_kept() -> None:
    from tiemchung.registry.review.explain import explain

    got = explain("exact pass; conflict: another record claims dose 2 of P-X 40 days apart; zzz")
    assert [r.code for r in got] == ["exact pass", "conflict", "raw"]
    assert got[1].vi == "Một hồ sơ khác cũng ghi mũi 2 của P-X, cách 40 ngày"
    assert got[2].vi == "zzz" and got[2].known is False


def _corrections(platform: Platform, dose_id: int) -> list[tuple[str, str | None, str | None, str]]:
    with platform.sessions() as s:
        rows = s.scalars(
            select(Correction).where(Correction.dose_id == dose_id).order_by(Correction.id)
        ).all()
        return [(c.field, c.old_value, c.new_value, c.source) for c in rows]


def _actions(platform: Platform, entity_id: int, entity: str = "review_item") -> list[str]:
    with platform.sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.id)
            )
        )


def test_accept_links_and_writes_register_values(platform: Platform) -> None:
    d, i = an_item(platform)
    ward = who(platform, "ward_a1")
    out = run(platform, lambda s: wd.accept(s, ward, i))
    assert out["status"] == "accepted" and out["person_id"] == "P-AN"
    assert out["changes"] == [
        {"field": "national_id", "old": "001085123457", "new": "001085123456"}
    ]
    with platform.sessions() as s:
        dd = s.get(Dose, d)
        assert dd is not None
        an = s.scalars(select(Person).where(Person.person_id == "P-AN")).one()
        assert (dd.person_pk, dd.status, dd.link_source) == (an.id, "verified", "review")
        assert dd.national_id == "001085123456"
        it = s.get(ReviewItem, i)
        assert it is not None
        assert (it.status, it.decided_by) == ("accepted", ward.user_id)
        assert it.decided_at is not None and it.decision_reason
    assert _corrections(platform, d) == [("national_id", "001085123457", "001085123456", "review")]
    assert _actions(platform, i) == ["review_item.accept"]
    assert _actions(platform, d, "dose")[-1] == "dose.correct"


def test_a_decided_item_answers_409_until_reopened(platform: Platform) -> None:
    d, i = an_item(platform)
    ward, prov = who(platform, "ward_a1"), who(platform, "prov_a")
    run(platform, lambda s: wd.accept(s, ward, i))
    assert error_of(platform, lambda s: wd.accept(s, ward, i)) == (409, "already_decided")
    assert error_of(platform, lambda s: wd.reject(s, ward, i)) == (409, "already_decided")
    assert error_of(
        platform, lambda s: wd.edit(s, ward, i, fields={"phone": "0912000001"}, reason="x")
    ) == (409, "already_decided")
    assert error_of(platform, lambda s: wd.reopen(s, ward, i, reason="oops"))[0] == 403
    assert error_of(platform, lambda s: wd.reopen(s, prov, i, reason=""))[1] == "reason_required"
    again = run(platform, lambda s: wd.reopen(s, prov, i, reason="wrong person, check again"))
    assert again["status"] == "open" and again["decided_by"] is None
    out = run(platform, lambda s: wd.reject(s, ward, i, reason="khác người"))
    assert out["status"] == "rejected" and out["dose_status"] == "unverified"
    assert _actions(platform, i) == [
        "review_item.accept",
        "review_item.reopen",
        "review_item.reject",
    ]
    assert len(_corrections(platform, d)) == 1  # the reject changed no field


def test_reject_not_in_register(platform: Platform) -> None:
    d, i = an_item(platform)
    out = run(platform, lambda s: wd.reject(s, who(platform, "ward_a1"), i, reason="người khác"))
    assert out["person_id"] is None and out["changes"] == []
    with platform.sessions() as s:
        dd = s.get(Dose, d)
        assert dd is not None
        assert (dd.person_pk, dd.status, dd.link_source) == (None, "unverified", "review")
        it = s.get(ReviewItem, i)
        assert it is not None and it.status == "rejected"
        assert it.decision == {"action": "reject", "person_id": None, "not_in_register": True}
        assert it.decision_reason == "người khác"
    assert _corrections(platform, d) == []


def test_reject_choosing_another_candidate(platform: Platform) -> None:
    d, i = an_item(platform)
    ward = who(platform, "ward_a1")
    assert error_of(platform, lambda s: wd.reject(s, ward, i, person_id="P-EM")) == (
        422,
        "not_a_candidate",
    )
    out = run(platform, lambda s: wd.reject(s, ward, i, person_id="P-BINH", reason="là chị Bình"))
    assert out["person_id"] == "P-BINH" and out["status"] == "rejected"
    assert sorted(c[0] for c in _corrections(platform, d)) == ["full_name", "national_id"]
    assert {c[2] for c in _corrections(platform, d)} == {"001190654321", "Trần Thị Bình"}


def test_edit_needs_a_reason_and_cleans_values(platform: Platform) -> None:
    d, i = an_item(platform)
    ward = who(platform, "ward_a1")
    assert (
        error_of(platform, lambda s: wd.edit(s, ward, i, fields={"phone": "0912"}, reason=""))[1]
        == "reason_required"
    )
    assert error_of(
        platform, lambda s: wd.edit(s, ward, i, fields={"product_code": "AZ"}, reason="x")
    ) == (422, "not_correctable")
    status, rule = error_of(
        platform, lambda s: wd.edit(s, ward, i, fields={"dob": "31/02/1985"}, reason="x")
    )
    assert status == 422 and rule.startswith("invalid_dob")
    assert error_of(
        platform, lambda s: wd.edit(s, ward, i, fields={"ward_code": "99999"}, reason="x")
    ) == (422, "unknown_ward")
    out = run(
        platform,
        lambda s: wd.edit(
            s,
            ward,
            i,
            fields={"national_id": "001 085 123 456", "phone": "+84 912 000 001"},
            reason="xem CCCD bản gốc",
            person_id="P-AN",
        ),
    )
    assert out["status"] == "edited" and out["person_id"] == "P-AN"
    assert _corrections(platform, d) == [
        ("national_id", "001085123457", "001085123456", "review"),
        ("phone", None, "0912000001", "review"),
    ]
    with platform.sessions() as s:
        reasons = s.scalars(select(Correction.reason).where(Correction.dose_id == d)).all()
        assert set(reasons) == {"xem CCCD bản gốc"}
    assert _actions(platform, i) == ["review_item.edit"]


def test_bulk_accept_answers_every_id(platform: Platform) -> None:
    d1, i1 = an_item(platform)
    d2, i2 = an_item(platform, "001085123458")
    d_b1 = dose(platform, full_name="Pham Van Dung", national_id="040065333440")
    b1 = item(platform, d_b1, ("dung", 0.9, {}), ward="b1")
    empty = item(platform, dose(platform, full_name="Ai Đó", national_id=None))  # no candidate
    out = run(
        platform,
        lambda s: wd.bulk_accept(s, who(platform, "ward_a1"), [i1, 999_999, b1, i2, i1, empty]),
    )
    assert [(r["id"], r["status"]) for r in out] == [
        (i1, 200),
        (999_999, 404),
        (b1, 404),
        (i2, 200),
        (i1, 409),
        (empty, 422),
    ]
    assert out[5]["problem"]["errors"][0]["rule"] == "no_candidate"
    with platform.sessions() as s:
        statuses = {x: s.get(ReviewItem, x).status for x in (i1, i2, b1, empty)}  # type: ignore[union-attr]
        assert statuses == {i1: "accepted", i2: "accepted", b1: "open", empty: "open"}
        assert s.get(Dose, d1).status == s.get(Dose, d2).status == "verified"  # type: ignore[union-attr]


def test_two_reviewers_one_wins(platform: Platform, database_url: str) -> None:
    """Two servers (two writers, two connections) decide the same item at once. Writers
    serialise across processes (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), so the
    second sees the first's decision."""
    _, i = an_item(platform)
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(2, timeout=10)

    def decide(p: Platform, username: str) -> None:
        actor = who(p, username)
        start.wait()
        try:
            p.writer.run(lambda s: wd.accept(s, actor, i))
            result = "won"
        except ServiceError as exc:
            result = f"{exc.status}:{exc.problems[0].rule}"
        with lock:
            outcomes.append(result)

    with Platform(platform.settings, database_url=database_url) as other:
        threads = [
            threading.Thread(target=decide, args=(platform, "ward_a1")),
            threading.Thread(target=decide, args=(other, "prov_a")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(outcomes) == ["409:already_decided", "won"]
    assert _actions(platform, i) == ["review_item.accept"]


def test_two_transactions_that_both_read_open_one_wins(
    platform: Platform, database_url: str
) -> None:
    """Without the writer's lock (a script, another tool on the same PostgreSQL): both
    transactions read the item as open, then decide; the conditional claim lets one win."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite cannot run two write transactions at once at all")
    _, i = an_item(platform)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def decide(username: str) -> None:
        actor = who(platform, username)
        with platform.sessions() as s:
            s.scalars(select(ReviewItem).where(ReviewItem.id == i)).one()  # both read "open"
            barrier.wait()
            try:
                wd.accept(s, actor, i)
                s.commit()
                result = "won"
            except ServiceError as exc:
                s.rollback()
                result = f"{exc.status}:{exc.problems[0].rule}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=decide, args=(u,)) for u in ("ward_a1", "prov_a")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["409:already_decided", "won"]
    assert _actions(platform, i) == ["review_item.accept"]


def test_reasons_of_an_item_without_a_candidate_are_not_about_a_person() -> None:
    from tiemchung.registry.review.explain import explain_item

    below = "name exact +15.6tf; ward exact +2.0; zip 1 +0.3; runner-up P-X -3.0"
    got = explain_item(below, has_candidates=False, probability=0.021)
    assert [r.code for r in got] == ["below threshold"]  # also the unknown comparison goes
    assert "chỉ khớp khoảng 2%" in got[0].vi and "about 2%" in got[0].en
    kept = explain_item("conflict: another record claims dose 2 of P-X 40 days apart; "
                        "name exact +15.6", has_candidates=False, probability=None)
    assert [r.code for r in kept] == ["below threshold", "conflict"]
    assert "Không ai trong sổ dân cư đủ giống" in kept[0].vi
    nobody = explain_item("no candidate in the register", has_candidates=False)
    assert [r.code for r in nobody] == ["no candidate"]  # already says it plainly
    shown = explain_item(below, has_candidates=True, probability=0.021)
    assert [r.code for r in shown][:2] == ["full_name:exact", "ward_code:exact"]


def test_a_reason_written_in_both_languages_is_split() -> None:
    from tiemchung.registry.review.explain import explain

    (r,) = explain("Số định danh không có trong sổ dân cư / the ID number is not in the register")
    assert (r.vi, r.en, r.known) == (
        "Số định danh không có trong sổ dân cư",
        "the ID number is not in the register",
        False,
    )


def test_an_edit_may_check_the_corrected_record_against_the_register(platform: Platform) -> None:
    """recheck: the corrected record is verified exactly when the desk would verify it, and
    only against a person the reviewer may see."""
    ward = who(platform, "ward_a1")
    _d, i = an_item(platform)  # an's dose with one ID digit wrong
    out = run(
        platform,
        lambda s: wd.edit(
            s, ward, i, fields={"national_id": "001085123456"}, reason="CCCD", recheck=True
        ),
    )
    assert (out["dose_status"], out["person_id"]) == ("verified", "P-AN")
    # without recheck the same correction leaves the dose unverified, as before
    _d2, i2 = an_item(platform, "001085123458")
    out = run(
        platform,
        lambda s: wd.edit(s, ward, i2, fields={"national_id": "001085123456"}, reason="CCCD"),
    )
    assert (out["dose_status"], out["person_id"]) == ("unverified", None)
    # a correction that still matches nobody: unverified
    _d3, i3 = an_item(platform, "001085123459")
    out = run(
        platform,
        lambda s: wd.edit(s, ward, i3, fields={"phone": "0912000009"}, reason="x", recheck=True),
    )
    assert (out["dose_status"], out["person_id"]) == ("unverified", None)
    # dung lives in ward b1: commune a1 may not link his dose, even when it verifies
    d4 = dose(platform, national_id="040065333443", full_name="Phạm Văn Dũng", dob="30/01/1965")
    i4 = item(platform, d4)
    fix = {"national_id": "040065333444"}
    out = run(platform, lambda s: wd.edit(s, ward, i4, fields=fix, reason="x", recheck=True))
    assert (out["dose_status"], out["person_id"]) == ("unverified", None)
    # … while central, who may see him, gets the link: the refusal above was the area's
    d5 = dose(platform, national_id="040065333442", full_name="Phạm Văn Dũng", dob="30/01/1965")
    i5 = item(platform, d5)
    central = who(platform, "central")
    out = run(platform, lambda s: wd.edit(s, central, i5, fields=fix, reason="x", recheck=True))
    assert (out["dose_status"], out["person_id"]) == ("verified", "P-DUNG")


def test_an_unverified_dose_says_which_fields_differ_and_how(platform: Platform) -> None:
    """Not "the name, date of birth or sex differs": the desk's own words for each field
    (registry/doses/verify.py), the same the nurse read when the dose was recorded."""
    typed = dose(platform, national_id="001085123456", full_name="Nguyen Van An", dob="04/12/1985")
    ward = who(platform, "ward_a1")
    with platform.sessions() as s:
        i = s.scalar(
            select(ReviewItem.id).where(
                ReviewItem.dose_id == typed, ReviewItem.kind == "unverified"
            )
        )
        assert i is not None
        said = wl.get_item(s, ward, i)["explanation"]
    vi = " ".join(r["vi"] for r in said)
    en = " ".join(r["en"] for r in said)
    assert "họ tên khác dấu (thiếu hoặc sai dấu) so với sổ dân cư" in vi
    assert "ngày sinh bị đảo ngày và tháng" in vi.lower()
    assert "P-AN" in vi and "giới tính" not in vi.lower()
    assert "họ tên, ngày sinh hoặc giới tính khác" not in vi
    assert "the name differs in diacritics" in en and "day and month swapped" in en
