"""The dose-sequence rules: they warn, they never refuse a dose that was given.

The record follows reality. A nurse who gives dose 3 to someone whose dose 2 the system never
saw (the campaign's paper cards were never all entered), or gives it ten days early, or
records a dose that is already there, has still given that dose: refusing it would lose it.
So these rules produce :class:`DoseWarning` values; the dose path (registry/doses/record.py) stores
the dose, answers the warnings with it, and puts them before the person's commune on the
dose's one worklist item, saying what the commune should do (enter the missing dose from the
card, check the date, remove a double entry): one dose, one item. An unverified dose already
has its ``unverified`` item (registry/doses/entry.py), which carries the warnings in its
explanation; only a verified dose with warnings gets an item of kind :data:`DOSE_CHECK`.

The rules run on the history of the register person the desk matched (registry/doses/record.py
chooses whom), never on the typed identity alone, which has no history of its own. The same
function serves the desk's prediction before the dose is saved (web/desk.py), so the nurse
reads the same words before and after.

The dose numbers a dose may carry (:data:`MIN_DOSE_NUMBER` to :data:`MAX_DOSE_NUMBER`) and the
earliest day of the next dose (:func:`earliest_date`) live here too: the API's schema, the
desk's form, the dose path and the backlog import all refuse the same numbers, and the desk's
prediction of the next dose (registry/doses/verify.py ``next_dose``) counts the interval that
:func:`sequence_warnings` later holds the dose to.

A warning travels into the item as one explanation segment (:func:`segment`), which
registry/review/explain.py turns back into sentences (:func:`explain_segment`) and the dose
path into the warning again when a retry replays the dose (:func:`warning_of_segment`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from tiemchung.registry.errors import Message
from tiemchung.vaccines import min_interval_before

#: The worklist item kind of a dose-rule warning (review_items.kind holds 12 characters).
DOSE_CHECK = "dose_check"
PREVIOUS_MISSING = "previous_dose_missing"
TOO_EARLY = "min_interval"
RECORDED_TWICE = "dose_recorded_twice"
CODES = (PREVIOUS_MISSING, TOO_EARLY, RECORDED_TWICE)

#: dose number -> (date, product code) of a person's stored doses
History = Mapping[int, tuple[date, str]]
#: (product code of the previous dose, number of the next) -> minimum days between them
IntervalOf = Callable[[str, int], int]

#: The dose numbers a dose may carry: a number outside is refused, everywhere it is typed.
MIN_DOSE_NUMBER = 1
MAX_DOSE_NUMBER = 10


def dose_number_ok(number: int) -> bool:
    """Whether ``number`` is a dose number a dose may carry (1 to 10)."""
    return MIN_DOSE_NUMBER <= number <= MAX_DOSE_NUMBER


#: The words for a dose number outside the range (rule ``out_of_range``): the dose path's 422
#: and, in English, the backlog import's rejected row.
DOSE_NUMBER_RANGE = Message(
    f"Mũi số phải từ {MIN_DOSE_NUMBER} đến {MAX_DOSE_NUMBER}",
    f"dose number must be {MIN_DOSE_NUMBER} to {MAX_DOSE_NUMBER}",
)
#: The words for a dose number typed as something else than a number (the desk's form).
DOSE_NUMBER_TYPED = Message(
    f"Mũi số phải là một số từ {MIN_DOSE_NUMBER} đến {MAX_DOSE_NUMBER}",
    f"the dose number must be a number from {MIN_DOSE_NUMBER} to {MAX_DOSE_NUMBER}",
)


class Schedule(Protocol):
    """A product's schedule as the catalog holds it (registry.models.Product)."""

    @property
    def primary_doses(self) -> int: ...

    @property
    def min_interval_days(self) -> int: ...


def interval_before(product: Schedule | None, dose_number: int) -> int:
    """Minimum days after a dose of ``product`` before dose ``dose_number``: its own interval
    within the primary series, the booster interval past it (tiemchung.vaccines), 0 for a
    product the catalog does not know."""
    if product is None:
        return 0
    return min_interval_before(dose_number, product.primary_doses, product.min_interval_days)


def earliest_date(
    prior_date: date, prior_product: str, dose_number: int, interval_of: IntervalOf
) -> tuple[date, int]:
    """The first day dose ``dose_number`` may be given after the previous dose (given on
    ``prior_date`` with ``prior_product``), and the interval in days: the rule the desk
    predicts the next dose by and :func:`sequence_warnings` warns on."""
    interval = interval_of(prior_product, dose_number)
    return prior_date + timedelta(days=interval), interval


@dataclass(frozen=True)
class DoseWarning:
    """One broken sequence rule: the dose was stored all the same."""

    code: str  # previous_dose_missing | min_interval | dose_recorded_twice
    field: str  # the form field it is about: dose_number | dose_date
    message_vi: str
    message_en: str
    #: the facts the messages were written from (for the worklist item and a replay)
    facts: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "field": self.field,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


def _numbers(numbers: Sequence[int]) -> tuple[str, str]:
    text = ", ".join(str(n) for n in numbers)
    return text, text


def missing_warning(dose_number: int, missing: Sequence[int]) -> DoseWarning:
    nums_vi, nums_en = _numbers(missing)
    plural = "s" if len(missing) > 1 else ""
    return DoseWarning(
        PREVIOUS_MISSING,
        "dose_number",
        f"Chưa có mũi {nums_vi} trong hệ thống — hãy nhập từ phiếu/thẻ tiêm",
        f"dose{plural} {nums_en} missing from the system — enter "
        f"{'them' if plural else 'it'} from the vaccination card",
        (("dose", str(dose_number)), ("missing", ",".join(str(n) for n in missing))),
    )


def early_warning(dose_number: int, days: int, earliest: date, interval: int) -> DoseWarning:
    return DoseWarning(
        TOO_EARLY,
        "dose_date",
        f"Mũi {dose_number} tiêm sớm {days} ngày (sớm nhất từ {earliest:%d/%m/%Y}, "
        f"{interval} ngày sau mũi trước)",
        f"dose {dose_number} given {days} day{'s' if days != 1 else ''} early (earliest "
        f"{earliest:%d/%m/%Y}, {interval} days after the previous dose)",
        (
            ("dose", str(dose_number)),
            ("days", str(days)),
            ("earliest", earliest.isoformat()),
            ("interval", str(interval)),
        ),
    )


def twice_warning(dose_number: int, first: date) -> DoseWarning:
    return DoseWarning(
        RECORDED_TWICE,
        "dose_number",
        f"Mũi {dose_number} đã được ghi nhận ngày {first:%d/%m/%Y} — có thể nhập trùng",
        f"dose {dose_number} is already recorded ({first:%d/%m/%Y}) — possibly a double entry",
        (("dose", str(dose_number)), ("first", first.isoformat())),
    )


def sequence_warnings(
    previous: History,
    dose_number: int,
    dose_date: date,
    interval_of: IntervalOf,
) -> list[DoseWarning]:
    """What is unusual about dose ``dose_number`` given on ``dose_date`` after ``previous``.

    * the same number already recorded: a possible double entry (nothing else is checked);
    * a lower number missing from the history: a gap to fill from the card;
    * given before the minimum interval after dose N-1 (``interval_of(product, N)`` days for
      the previous dose's product: its own within the primary series, the booster interval
      past it, tiemchung.vaccines.min_interval_before).
    """
    if dose_number in previous:
        return [twice_warning(dose_number, previous[dose_number][0])]
    out: list[DoseWarning] = []
    missing = [n for n in range(1, dose_number) if n not in previous]
    if missing:
        out.append(missing_warning(dose_number, missing))
    prior = previous.get(dose_number - 1)
    if prior is not None:
        earliest, interval = earliest_date(prior[0], prior[1], dose_number, interval_of)
        if dose_date < earliest:
            out.append(early_warning(dose_number, (earliest - dose_date).days, earliest, interval))
    return out


# -- the worklist item ---------------------------------------------------------------------------

_PREFIX = "dose rule: "
_SEGMENT = re.compile(r"^dose rule: (?P<code>[a-z_]+)(?P<facts>(?: [a-z]+=[0-9,\-]+)*)$")


def segment(warning: DoseWarning) -> str:
    """The warning as one explanation segment: ``dose rule: min_interval dose=3 days=10 …``."""
    facts = "".join(f" {k}={v}" for k, v in warning.facts)
    return f"{_PREFIX}{warning.code}{facts}"


def warning_of_segment(text: str) -> DoseWarning | None:
    """The warning a :func:`segment` was written from (None for any other text)."""
    m = _SEGMENT.match(text.strip())
    if m is None or m["code"] not in CODES:
        return None
    facts = dict(f.split("=", 1) for f in m["facts"].split())
    try:
        number = int(facts["dose"])
        if m["code"] == PREVIOUS_MISSING:
            return missing_warning(number, [int(n) for n in facts["missing"].split(",")])
        if m["code"] == TOO_EARLY:
            return early_warning(
                number,
                int(facts["days"]),
                date.fromisoformat(facts["earliest"]),
                int(facts["interval"]),
            )
        return twice_warning(number, date.fromisoformat(facts["first"]))
    except (KeyError, ValueError):
        return None


#: What the commune should do about each warning (Vietnamese, English); how to close the item
#: depends on its kind (:data:`CLOSING`).
TODO: dict[str, tuple[str, str]] = {
    PREVIOUS_MISSING: (
        "Việc cần làm: xem phiếu/thẻ tiêm của người này và nhập các mũi còn thiếu (ngày tiêm, "
        "vắc xin, số lô) vào hệ thống. Mũi tiêm vừa ghi đã được lưu.",
        "To do: look at the person's vaccination card and enter the missing doses (date, "
        "vaccine, lot) into the system. The dose just recorded is stored.",
    ),
    TOO_EARLY: (
        "Việc cần làm: đối chiếu ngày tiêm với phiếu/thẻ tiêm. Nếu ngày nhập sai, báo điểm tiêm "
        "sửa; nếu đúng là tiêm sớm, ghi lý do khi xử lý mục này. Mũi tiêm đã được lưu.",
        "To do: check the date against the vaccination card. If it was mistyped, ask the site "
        "to correct it; if the dose really was early, note why when you decide this item. The "
        "dose is stored.",
    ),
    RECORDED_TWICE: (
        "Việc cần làm: đối chiếu hai lần ghi mũi này với phiếu/thẻ tiêm. Nếu là nhập trùng, báo "
        "tỉnh gỡ bản ghi thừa; nếu là một mũi khác, báo điểm tiêm sửa số mũi. Cả hai bản ghi "
        "đang được lưu.",
        "To do: compare both records of this dose with the vaccination card. If it is a double "
        "entry, ask the province to remove the extra record; if it is another dose, ask the "
        "site to correct the dose number. Both records are stored.",
    ),
}

#: The last sentence of a warning's to-do, by the kind of item that carries it. A verified
#: dose's warnings are a ``dose_check`` item of their own, closed with "done"; an unverified
#: dose's warnings ride on its ``unverified`` item (one dose, one item), which is decided by
#: whom the dose belongs to.
CLOSING: dict[str, tuple[str, str]] = {
    DOSE_CHECK: ("Xong thì đánh dấu đã xử lý.", "Then mark this item done."),
    "unverified": (
        "Việc này làm thêm, ngoài việc xác định mũi tiêm là của ai ở mục này.",
        "This comes on top of deciding, in this item, whom the dose belongs to.",
    ),
}


def explain_segment(text: str, kind: str | None = DOSE_CHECK) -> tuple[str, str, str] | None:
    """(code, Vietnamese, English) sentences for a :func:`segment`: what is wrong and what to
    do, closed as an item of ``kind`` is; None if ``text`` is not one."""
    warning = warning_of_segment(text)
    if warning is None:
        return None
    todo_vi, todo_en = TODO[warning.code]
    close_vi, close_en = CLOSING.get(kind or DOSE_CHECK, CLOSING[DOSE_CHECK])
    return (
        f"{DOSE_CHECK}:{warning.code}",
        f"{warning.message_vi}. {todo_vi} {close_vi}",
        f"{warning.message_en}. {todo_en} {close_en}",
    )


def segments(warnings: Sequence[DoseWarning]) -> str:
    """The warnings as explanation segments, joined as an explanation joins them."""
    return "; ".join(segment(w) for w in warnings)


def item_row(
    dose_id: int,
    row: Mapping[str, Any],
    person: Any | None,
    warnings: Sequence[DoseWarning],
) -> dict[str, Any]:
    """The one ``dose_check`` item of a stored VERIFIED dose ``row`` (as registry/doses/record.py
    stored it) that broke sequence rules: every warning a segment of its explanation, the first
    one its reason. It goes to the ward of the register ``person`` the rules ran on, else the
    dose's own area ward; ``person`` is listed as the only candidate, so the reviewer sees
    whose history it is. (An unverified dose's warnings go into its ``unverified`` item
    instead, registry/doses/entry.py: one dose, one item.)"""
    ward = person.ward_code if person is not None else row["area_ward_code"]
    province = person.province_code if person is not None else row["area_province_code"]
    candidates = (
        [
            {
                "person_id": person.person_id,
                "match_probability": None,
                "mismatches": [],
                "corrections": {},
            }
        ]
        if person is not None
        else []
    )
    return {
        "dose_id": dose_id,
        "kind": DOSE_CHECK,
        "reason": warnings[0].code,
        "ward_code": ward,
        "province_code": province,
        "person_pk": person.id if person is not None else None,
        "mismatches": None,
        "candidates": candidates,
        "explanation": segments(warnings),
        "status": "open",
    }
