"""The record follows reality (issue 14): a dose that was given is always stored. Sequence
rules warn and open a worklist item in the person's commune; they run on the register
person's history, not on the typed identity; every unverified dose reaches a commune. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import submission, world
from tiemchung.api.schemas import DoseCreate
from tiemchung.core import Platform
from tiemchung.registry.doses.record import DoseResult, DoseSubmission, record_doses
from tiemchung.registry.doses.rules import (
    DOSE_NUMBER_RANGE,
    DOSE_NUMBER_TYPED,
    MAX_DOSE_NUMBER,
    MIN_DOSE_NUMBER,
    dose_number_ok,
    earliest_date,
    interval_before,
    sequence_warnings,
)
from tiemchung.registry.doses.verify import DoseEntry, next_dose
from tiemchung.registry.models import Dose, Person, ReviewItem
from tiemchung.registry.review import decisions as wd
from tiemchung.registry.review import worklists as wl
from tiemchung.registry.review.explain import explain
from tiemchung.registry.scope import Actor, Role
from tiemchung.vaccines import min_interval_before

SYSTEM = Actor.system("tests")
D1 = date(2021, 10, 1)
#: Xã Nghĩa Mai, Huyện Nghĩa Đàn, Nghệ An (2021 GSO code), as the chip card prints it
NGHIA_MAI = "16942"
CARD_ADDRESS = "Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Nghệ An"


def record(platform: Platform, *subs: DoseSubmission) -> list[DoseResult]:
    return platform.writer.run(
        lambda s: record_doses(s, platform.catalog, SYSTEM, list(subs), today=date(2022, 6, 1))
    )


def stored(platform: Platform, sub: DoseSubmission) -> DoseResult:
    (r,) = record(platform, sub)
    assert r.error is None and r.created and r.dose is not None, r.error
    return r


def items_of(platform: Platform, result: DoseResult) -> list[ReviewItem]:
    assert result.dose is not None
    with platform.sessions() as s:
        return list(
            s.scalars(
                select(ReviewItem)
                .where(ReviewItem.dose_id == result.dose["id"])
                .order_by(ReviewItem.id)
            )
        )


def pk_of(platform: Platform, person_id: str) -> int:
    with platform.sessions() as s:
        pk = s.scalar(select(Person.id).where(Person.person_id == person_id))
    assert pk is not None
    return int(pk)


def history(platform: Platform, *numbers: int) -> None:
    """Doses ``numbers`` of P-AN stored verified, four weeks apart."""
    for n in numbers:
        r = stored(platform, submission("an", dose_number=n, dose_date=D1 + timedelta(28 * n)))
        assert r.dose is not None and r.dose["status"] == "verified"


def commune(ward_code: str, province_code: str) -> Actor:
    return Actor(
        user_id=None,
        username=f"ward_{ward_code}",
        role=Role.COMMUNE,
        province_code=province_code,
        ward_code=ward_code,
    )


# -- the desk scenarios: the typed identity differs, the person has doses ----------------


def _third_dose_with(platform: Platform, **typed: str) -> DoseResult:
    history(platform, 1, 2)
    return stored(
        # dose 3 is a booster: at least 90 days after dose 2 (tiemchung.vaccines)
        platform,
        submission("an", dose_number=3, dose_date=D1 + timedelta(28 * 2 + 90), **typed),
    )


def test_name_off_with_doses_one_and_two_records_dose_three(platform: Platform) -> None:
    r = _third_dose_with(platform, full_name="Nguyễn Văn Ang")
    assert r.dose is not None and r.dose["status"] == "unverified"
    assert r.warnings == []  # the register person's doses 1 and 2 are its history
    (item,) = items_of(platform, r)
    assert (item.kind, item.reason, item.ward_code) == (
        "unverified",
        "fields_differ",
        world().wards["a1"],
    )


def test_dob_off_by_a_month_records_dose_three(platform: Platform) -> None:
    r = _third_dose_with(platform, dob="1985-05-12")
    assert r.dose is not None and r.dose["status"] == "unverified" and r.warnings == []
    (item,) = items_of(platform, r)
    assert (item.kind, item.mismatches, item.ward_code) == (
        "unverified",
        "dob",
        world().wards["a1"],
    )


def test_diacritics_off_records_dose_three(platform: Platform) -> None:
    r = _third_dose_with(platform, full_name="Nguyen Van An")
    assert r.dose is not None and r.dose["status"] == "unverified" and r.warnings == []
    assert [i.kind for i in items_of(platform, r)] == ["unverified"]


def test_a_gap_in_history_warns_on_the_doses_one_item_for_the_commune(platform: Platform) -> None:
    """Doses 1 and 3 stored, dose 4 given (name typed off): stored, with a warning that dose
    2 is missing. One dose, one item: the unverified item in P-AN's commune carries the
    warning (what is missing and to enter it from the card); no second, dose_check item."""
    history(platform, 1, 3)
    r = stored(
        platform,
        submission("an", full_name="Nguyễn Văn Ang", dose_number=4, dose_date=D1 + timedelta(200)),
    )
    (w,) = r.warnings
    assert (w.code, w.field) == ("previous_dose_missing", "dose_number")
    assert w.message_vi == "Chưa có mũi 2 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm"
    assert w.message_en == "dose 2 missing from the system — enter it from the vaccination card"
    (item,) = items_of(platform, r)
    assert (item.kind, item.reason, item.status) == ("unverified", "fields_differ", "open")
    assert item.ward_code == world().wards["a1"] and item.person_pk == pk_of(platform, "P-AN")
    why, gap = explain(item.explanation, "unverified")
    assert why.vi.startswith("Số định danh có trong sổ dân cư nhưng họ tên")
    assert gap.vi.startswith("Chưa có mũi 2 trong hệ thống")
    assert "Việc cần làm: xem phiếu/thẻ tiêm" in gap.vi and "To do:" in gap.en
    # decided on this item (whose dose it is), not "marked done" as a dose_check item is
    assert "đánh dấu đã xử lý" not in gap.vi and "whom the dose belongs to" in gap.en
    # the item page (and so the spreadsheet) reads it so
    ward_a1 = commune(world().wards["a1"], "01")
    with platform.sessions() as s:
        detail = wl.get_item(s, ward_a1, item.id)
    texts = [e["vi"] for e in detail["explanation"]]
    assert any(t.startswith("Chưa có mũi 2 trong hệ thống") for t in texts), texts


def test_a_tone_off_with_a_gap_opens_one_item(
    platform: Platform,
) -> None:
    """The tester's API case: a name with one tone off for a person with doses 1 and 3, dose
    4 recorded: one unverified item (was: an unverified and a dose_check item)."""
    history(platform, 1, 3)
    r = stored(
        platform,
        submission("an", full_name="Nguyễn Văn Ấn", dose_number=4, dose_date=D1 + timedelta(200)),
    )
    assert r.dose is not None and r.dose["status"] == "unverified"
    assert [w.code for w in r.warnings] == ["previous_dose_missing"]
    assert [i.kind for i in items_of(platform, r)] == ["unverified"]


def test_a_verified_dose_with_two_warnings_opens_one_dose_check_item(platform: Platform) -> None:
    """Dose 3 after dose 2 only (dose 1 missing) and 5 days after it (a booster: 90): both
    warnings on one dose_check item, the first as its reason."""
    stored(platform, submission("an", dose_number=2, dose_date=D1))
    r = stored(platform, submission("an", dose_number=3, dose_date=D1 + timedelta(5)))
    assert r.dose is not None and r.dose["status"] == "verified"
    assert [w.code for w in r.warnings] == ["previous_dose_missing", "min_interval"]
    (item,) = items_of(platform, r)
    assert (item.kind, item.reason) == ("dose_check", "previous_dose_missing")
    gap, early = explain(item.explanation, "dose_check")
    assert gap.vi.startswith("Chưa có mũi 1 trong hệ thống") and "đánh dấu đã xử lý" in gap.vi
    assert early.vi.startswith("Mũi 3 tiêm sớm 85 ngày")  # a booster: 90 days
    (again,) = record(platform, submission("an", dose_number=3, dose_date=D1 + timedelta(5)))
    assert [w.code for w in again.warnings] == ["dose_recorded_twice"]


def test_a_retry_of_an_unverified_dose_answers_its_warnings(platform: Platform) -> None:
    history(platform, 1, 3)
    sub = submission("an", full_name="Nguyễn Văn Ang", dose_number=4, dose_date=D1 + timedelta(200))
    first = stored(platform, sub)
    (again,) = record(platform, sub)
    assert (first.status, again.status) == (201, 200)
    assert again.warnings == first.warnings != []
    assert len(items_of(platform, first)) == 1


def test_a_missing_previous_dose_never_blocks_a_verified_dose(platform: Platform) -> None:
    r = stored(platform, submission("an", dose_number=3))
    assert r.dose is not None and r.dose["status"] == "verified"
    (w,) = r.warnings
    assert w.message_vi.startswith("Chưa có mũi 1, 2 trong hệ thống")
    assert w.message_en.startswith("doses 1, 2 missing from the system")
    (item,) = items_of(platform, r)
    assert (item.kind, item.ward_code) == ("dose_check", world().wards["a1"])


def test_an_early_dose_is_stored_with_how_early(platform: Platform) -> None:
    history(platform, 1)  # Pfizer: 21 days; dose 1 on D1 + 28
    r = stored(platform, submission("an", dose_number=2, dose_date=D1 + timedelta(28 + 11)))
    (w,) = r.warnings
    assert (w.code, w.field) == ("min_interval", "dose_date")
    assert w.message_vi.startswith("Mũi 2 tiêm sớm 10 ngày")
    assert w.message_en.startswith("dose 2 given 10 days early")
    (item,) = items_of(platform, r)
    assert (item.kind, item.reason) == ("dose_check", "min_interval")


def test_a_dose_recorded_twice_is_a_possible_double_entry(platform: Platform) -> None:
    history(platform, 1)
    r = stored(platform, submission("an", dose_date=D1 + timedelta(30)))
    (w,) = r.warnings
    assert w.code == "dose_recorded_twice"
    assert w.message_vi == "Mũi 1 đã được ghi nhận ngày 29/10/2021 — có thể nhập trùng"
    (item,) = items_of(platform, r)
    assert item.reason == "dose_recorded_twice"
    (reason,) = explain(item.explanation)
    assert "nhập trùng" in reason.vi and "double entry" in reason.en


def test_a_retry_answers_the_warnings_the_dose_was_stored_with(platform: Platform) -> None:
    sub = submission("an", dose_number=2)
    first = stored(platform, sub)
    (again,) = record(platform, sub)
    assert (first.status, again.status) == (201, 200)
    assert again.warnings == first.warnings != []
    assert len(items_of(platform, first)) == 1  # the retry opened nothing more


def test_closing_a_dose_check_item_leaves_the_dose_as_it_is(platform: Platform) -> None:
    r = stored(platform, submission("an", dose_number=2))
    (item,) = items_of(platform, r)
    ward_a1 = commune(world().wards["a1"], "01")
    done = platform.writer.run(lambda s: wd.accept(s, ward_a1, item.id, reason="đã nhập mũi 1"))
    assert (done["status"], done["changes"], done["dose_status"]) == ("accepted", [], "verified")
    with platform.sessions() as s:
        dose = s.get(Dose, r.dose["id"])  # type: ignore[index]
        assert dose is not None and dose.person_pk == pk_of(platform, "P-AN")


# -- every unverified dose reaches a commune -------------------------------------------------------


def test_an_unknown_person_goes_to_the_ward_of_the_scanned_address(platform: Platform) -> None:
    stranger = dict(national_id="040190000001", full_name="Hồ Thị Lạ", dob="1990-01-01")
    r = stored(platform, submission(None, **stranger, address=CARD_ADDRESS))
    assert r.dose is not None and r.dose["status"] == "unverified"
    assert r.dose["ward_code"] is None  # as entered
    assert (r.dose["area_ward_code"], r.dose["area_province_code"]) == (NGHIA_MAI, "40")
    (item,) = items_of(platform, r)
    assert (item.kind, item.ward_code) == ("unverified", NGHIA_MAI)
    # the commune's own "chưa xác minh" filter shows it
    with platform.sessions() as s:
        page = wl.list_items(s, commune(NGHIA_MAI, "40"), wl.WorklistQuery(kind="unverified"))
    assert [i["dose_id"] for i in page.items] == [r.dose["id"]]


def test_a_typed_ward_wins_over_the_address(platform: Platform) -> None:
    w = world()
    r = stored(platform, submission(None, ward_code=w.wards["b2"], address=CARD_ADDRESS))
    assert r.dose is not None and r.dose["area_ward_code"] == w.wards["b2"]


def test_without_ward_or_readable_address_the_sites_ward(platform: Platform) -> None:
    w = world()
    r = stored(platform, submission(None, address="Xóm 3", site_id=w.sites["b1"]))
    assert r.dose is not None and r.dose["area_ward_code"] == w.wards["b1"]
    (item,) = items_of(platform, r)
    assert item.ward_code == w.wards["b1"]


# -- the rule itself -------------------------------------------------------------------------------


def test_sequence_warnings_rule() -> None:
    def pfizer(_: str, __: int) -> int:
        return 21

    day = date(2021, 10, 1)
    assert sequence_warnings({}, 1, day, pfizer) == []
    assert sequence_warnings({1: (day, "PFIZER")}, 2, day + timedelta(21), pfizer) == []
    (early,) = sequence_warnings({1: (day, "PFIZER")}, 2, day + timedelta(20), pfizer)
    assert early.message_en.startswith("dose 2 given 1 day early (earliest 22/10/2021")
    (gap,) = sequence_warnings(
        {1: (day, "PFIZER"), 3: (day, "PFIZER")}, 5, day + timedelta(5), pfizer
    )
    assert (gap.code, gap.message_vi) == (
        "previous_dose_missing",
        "Chưa có mũi 2, 4 trong hệ thống — hãy nhập từ phiếu/thẻ tiêm",
    )
    gap, early = sequence_warnings({2: (day, "PFIZER")}, 3, day + timedelta(1), pfizer)
    assert (gap.code, early.code) == ("previous_dose_missing", "min_interval")


# -- the booster interval ----------------------------------------------------------------------


def test_a_booster_waits_three_months_not_the_primary_interval(platform: Platform) -> None:
    """Pfizer's primary series is 2 doses 21 days apart; a booster (dose 3 and on) waits 90
    days (Vietnam's MoH, 2022: at least 3 months after the primary series). Was: the desk
    offered "mũi 4 … từ" 21 days after dose 3, and a booster 21 days after dose 2 passed."""
    history(platform, 1, 2)  # dose 2 on D1 + 56
    r = stored(platform, submission("an", dose_number=3, dose_date=D1 + timedelta(56 + 30)))
    (w,) = r.warnings
    assert w.code == "min_interval"
    assert w.message_vi == "Mũi 3 tiêm sớm 60 ngày (sớm nhất từ 24/02/2022, 90 ngày sau mũi trước)"
    on_time = stored(
        platform, submission("an", dose_number=4, dose_date=D1 + timedelta(56 + 30 + 90))
    )
    assert on_time.warnings == []


def test_the_next_dose_after_a_booster_is_three_months_on() -> None:
    products = {"PFIZER": (2, 21)}
    d3 = date(2026, 12, 7)
    entries = [
        DoseEntry(1, date(2021, 10, 1), "PFIZER", "S", "verified"),
        DoseEntry(2, date(2021, 10, 22), "PFIZER", "S", "verified"),
    ]
    second = next_dose(entries, products)
    assert second is not None and second.earliest_date == date(2022, 1, 20)  # 22/10 + 90
    third = next_dose([*entries, DoseEntry(3, d3, "PFIZER", "S", "verified")], products)
    assert third is not None and (third.dose_number, third.kind) == (4, "booster")
    assert third.earliest_date == date(2027, 3, 7)  # was 28/12/2026: 21 days
    first = next_dose(entries[:1], products)
    assert first is not None and first.earliest_date == date(2021, 10, 22)  # primary: 21 days


def test_deciding_the_dose_keeps_its_warnings_as_a_dose_check_item(platform: Platform) -> None:
    """One dose, one item — but deciding whose dose it is does not enter the missing dose.
    A bulk accept nobody opened must not lose "dose 2 is missing": once the dose is linked to
    P-AN, the warning moves to a dose_check item of the verified dose in P-AN's commune."""
    history(platform, 1, 3)
    r = stored(
        platform,
        submission("an", full_name="Nguyễn Văn Ang", dose_number=4, dose_date=D1 + timedelta(200)),
    )
    (item,) = items_of(platform, r)
    ward_a1 = commune(world().wards["a1"], "01")
    (answer,) = platform.writer.run(lambda s: wd.bulk_accept(s, ward_a1, [item.id]))
    assert answer["status"] == 200, answer
    first, follow_up = items_of(platform, r)
    assert (first.kind, first.status) == ("unverified", "accepted")
    assert (follow_up.kind, follow_up.reason, follow_up.status) == (
        "dose_check",
        "previous_dose_missing",
        "open",
    )
    assert follow_up.ward_code == world().wards["a1"]
    assert follow_up.person_pk == pk_of(platform, "P-AN")
    (gap,) = explain(follow_up.explanation, "dose_check")
    assert gap.vi.startswith("Chưa có mũi 2 trong hệ thống")


def test_a_dose_decided_to_be_nobodys_keeps_no_warning(platform: Platform) -> None:
    """Rejected as not in the register, the rules' history was not the dose's: no follow-up."""
    history(platform, 1, 3)
    r = stored(
        platform,
        submission("an", full_name="Nguyễn Văn Ang", dose_number=4, dose_date=D1 + timedelta(200)),
    )
    (item,) = items_of(platform, r)
    ward_a1 = commune(world().wards["a1"], "01")
    platform.writer.run(lambda s: wd.reject(s, ward_a1, item.id, reason="không phải người này"))
    assert [(i.kind, i.status) for i in items_of(platform, r)] == [("unverified", "rejected")]


# -- one home for the dose number and the interval (issue 15) ----------------------------------


def test_the_dose_number_limit_is_one_rule() -> None:
    """1 to 10, wherever a dose number is typed: the API schema takes its bounds from the same
    constants, and the dose path refuses what the rule refuses."""
    assert [n for n in range(-1, 13) if dose_number_ok(n)] == list(range(1, 11))
    bounds = {m.__class__.__name__: m for m in DoseCreate.model_fields["dose_number"].metadata}
    assert bounds["Ge"].ge == MIN_DOSE_NUMBER and bounds["Le"].le == MAX_DOSE_NUMBER


def test_the_dose_number_words_are_said_once(platform: Platform) -> None:
    """The dose path's 422, the backlog import's rejected row and the desk's form take their
    words from rules.DOSE_NUMBER_RANGE / DOSE_NUMBER_TYPED, the words they always said."""
    assert (DOSE_NUMBER_RANGE.vi, DOSE_NUMBER_RANGE.en) == (
        "Mũi số phải từ 1 đến 10",
        "dose number must be 1 to 10",
    )
    assert (DOSE_NUMBER_TYPED.vi, DOSE_NUMBER_TYPED.en) == (
        "Mũi số phải là một số từ 1 đến 10",
        "the dose number must be a number from 1 to 10",
    )
    [result] = record(platform, submission("an", dose_number=11))
    assert result.error is not None
    [problem] = result.error.problems
    assert (problem.rule, problem.message_vi, problem.message_en) == (
        "out_of_range",
        DOSE_NUMBER_RANGE.vi,
        DOSE_NUMBER_RANGE.en,
    )


def test_the_next_dose_and_the_warning_count_the_same_interval() -> None:
    """The desk's prediction (verify.next_dose) and the dose path's warning
    (rules.sequence_warnings) both count the earliest day by rules.earliest_date: a dose on
    the predicted day never warns, a day earlier always does."""
    products = {"PFIZER": (2, 21)}

    def interval_of(code: str, n: int) -> int:
        known = products.get(code)
        return min_interval_before(n, *known) if known else 0

    for numbers in ([1], [1, 2], [1, 2, 3]):
        d = date(2021, 10, 1)
        entries = [DoseEntry(n, d + timedelta(100 * i), "PFIZER", "S", "verified")
                   for i, n in enumerate(numbers)]  # fmt: skip
        predicted = next_dose(entries, products)
        assert predicted is not None and predicted.earliest_date is not None
        history = {e.dose_number: (e.dose_date, e.product_code) for e in entries}
        n = predicted.dose_number
        assert sequence_warnings(history, n, predicted.earliest_date, interval_of) == []
        (early,) = sequence_warnings(
            history, n, predicted.earliest_date - timedelta(1), interval_of
        )
        assert early.code == "min_interval"
    assert earliest_date(date(2021, 10, 1), "PFIZER", 2, interval_of) == (date(2021, 10, 22), 21)
    assert interval_before(None, 2) == 0
    last = [DoseEntry(MAX_DOSE_NUMBER, date(2021, 10, 1), "PFIZER", "S", "verified")]
    assert next_dose(last, products) is None  # no dose number past the limit
