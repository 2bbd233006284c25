"""The dose-sequence rules: they warn, they never refuse a dose that was given.

The record follows reality. A nurse who gives dose 3 to someone whose dose 2 the system never
saw (the campaign's paper cards were never all entered), or gives it ten days early, or
records a dose that is already there, has still given that dose: refusing it would lose it.
So these rules produce :class:`DoseWarning` values; the dose path (registry/doses.py) stores
the dose, answers the warnings with it, and opens one worklist item of kind
:data:`DOSE_CHECK` per warning in the person's commune, saying what the commune should do
(enter the missing dose from the card, check the date, remove a double entry).

The rules run on the history of the register person the desk matched (registry/doses.py
chooses whom), never on the typed identity alone, which has no history of its own. The same
function serves the desk's prediction before the dose is saved (web/desk.py), so the nurse
reads the same words before and after.

A warning travels into the item as one explanation segment (:func:`segment`), which
registry/worklist_explain.py turns back into sentences (:func:`explain_segment`) and the dose
path into the warning again when a retry replays the dose (:func:`warning_of_segment`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

#: The worklist item kind of a dose-rule warning (review_items.kind holds 12 characters).
DOSE_CHECK = "dose_check"
PREVIOUS_MISSING = "previous_dose_missing"
TOO_EARLY = "min_interval"
RECORDED_TWICE = "dose_recorded_twice"
CODES = (PREVIOUS_MISSING, TOO_EARLY, RECORDED_TWICE)

#: dose number -> (date, product code) of a person's stored doses
History = Mapping[int, tuple[date, str]]


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
    interval_of: Callable[[str], int],
) -> list[DoseWarning]:
    """What is unusual about dose ``dose_number`` given on ``dose_date`` after ``previous``.

    * the same number already recorded: a possible double entry (nothing else is checked);
    * a lower number missing from the history: a gap to fill from the card;
    * given before the previous dose's product's minimum interval (``interval_of(product)``
      days) after dose N-1.
    """
    if dose_number in previous:
        return [twice_warning(dose_number, previous[dose_number][0])]
    out: list[DoseWarning] = []
    missing = [n for n in range(1, dose_number) if n not in previous]
    if missing:
        out.append(missing_warning(dose_number, missing))
    prior = previous.get(dose_number - 1)
    if prior is not None:
        prior_date, prior_product = prior
        interval = interval_of(prior_product)
        earliest = prior_date + timedelta(days=interval)
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


#: What the commune should do about each warning (Vietnamese, English).
TODO: dict[str, tuple[str, str]] = {
    PREVIOUS_MISSING: (
        "Việc cần làm: xem phiếu/thẻ tiêm của người này và nhập các mũi còn thiếu (ngày tiêm, "
        "vắc xin, số lô) vào hệ thống, rồi đánh dấu đã xử lý. Mũi tiêm vừa ghi đã được lưu.",
        "To do: look at the person's vaccination card, enter the missing doses (date, vaccine, "
        "lot) into the system, then mark this item done. The dose just recorded is stored.",
    ),
    TOO_EARLY: (
        "Việc cần làm: đối chiếu ngày tiêm với phiếu/thẻ tiêm. Nếu ngày nhập sai, báo điểm tiêm "
        "sửa; nếu đúng là tiêm sớm, ghi lý do rồi đánh dấu đã xử lý. Mũi tiêm đã được lưu.",
        "To do: check the date against the vaccination card. If it was mistyped, ask the site "
        "to correct it; if the dose really was early, note why and mark this item done. The "
        "dose is stored.",
    ),
    RECORDED_TWICE: (
        "Việc cần làm: đối chiếu hai lần ghi mũi này với phiếu/thẻ tiêm. Nếu là nhập trùng, báo "
        "tỉnh gỡ bản ghi thừa; nếu là một mũi khác, báo điểm tiêm sửa số mũi. Rồi đánh dấu đã "
        "xử lý. Cả hai bản ghi đang được lưu.",
        "To do: compare both records of this dose with the vaccination card. If it is a double "
        "entry, ask the province to remove the extra record; if it is another dose, ask the "
        "site to correct the dose number. Then mark this item done. Both records are stored.",
    ),
}


def explain_segment(text: str) -> tuple[str, str, str] | None:
    """(code, Vietnamese, English) sentences for a :func:`segment`: what is wrong and what to
    do; None if ``text`` is not one."""
    warning = warning_of_segment(text)
    if warning is None:
        return None
    todo_vi, todo_en = TODO[warning.code]
    return (
        f"{DOSE_CHECK}:{warning.code}",
        f"{warning.message_vi}. {todo_vi}",
        f"{warning.message_en}. {todo_en}",
    )


def item_rows(
    dose_id: int,
    row: Mapping[str, Any],
    person: Any | None,
    warnings: Sequence[DoseWarning],
) -> list[dict[str, Any]]:
    """One worklist item per warning of a stored dose ``row`` (as registry/doses.py stored it):
    in the ward of the register ``person`` the rules ran on, else the dose's own area ward
    (the typed ward, the ward of the typed address, else the site's). ``person`` is listed as
    the only candidate, so the reviewer sees whose history it is."""
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
    return [
        {
            "dose_id": dose_id,
            "kind": DOSE_CHECK,
            "reason": w.code,
            "ward_code": ward,
            "province_code": province,
            "person_pk": person.id if person is not None else None,
            "mismatches": None,
            "candidates": candidates,
            "explanation": segment(w),
            "status": "open",
        }
        for w in warnings
    ]
