"""The counts of AEFI reports by product and lot (and place), and **the cluster rule**: the
one home of when a lot is flagged for a cluster of serious events.

The rule (:class:`ClusterRule`; an installation sets its values with the
``TIEMCHUNG_AEFI_*`` settings, :func:`rule_from`, and the CLI's ``aefi summary`` tries others):
a lot is flagged when either

* **a burst**: at least ``burst_count`` (3) serious reports whose onsets fall within
  ``burst_days`` (7) consecutive days, or
* **a rate**: at least ``rate_min_serious`` (2) serious reports and at least
  ``per_10k`` (10) serious reports per 10,000 doses recorded from that lot (double entries
  not counted).

Why both: a burst catches a bad lot early, before many doses are given; the rate catches a
lot whose serious events are spread out but too many for its use. The minimum of the rate
keeps one serious report on a lot of a hundred doses from reading as a cluster. The flag is
the lot's, figured over every serious report of the lot in the country (a lot is shipped to
many provinces), whatever area the caller sees; the counts beside it are the caller's area's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiemchung.config import Settings
from tiemchung.registry.aefi.reports import (
    AefiQuery,
    check_reader,
    lot_numbers,
    scoped,
)
from tiemchung.registry.errors import rule_error
from tiemchung.registry.models import AefiReport, Dose, Site
from tiemchung.registry.scope import Actor

#: a dose record that is a double entry of another is not a second dose given
_NOT_A_DOSE_GIVEN = "duplicate"
BY = ("lot", "site", "commune", "province")


@dataclass(frozen=True)
class ClusterRule:
    """When a lot's serious events are a cluster (see the module's words)."""

    burst_count: int = 3
    burst_days: int = 7
    per_10k: float = 10.0
    rate_min_serious: int = 2


DEFAULT_RULE = ClusterRule()


def rule_from(settings: Settings) -> ClusterRule:
    """The installation's rule (``TIEMCHUNG_AEFI_BURST_COUNT``, ``…_BURST_DAYS``,
    ``…_PER_10K``, ``…_RATE_MIN_SERIOUS``; the defaults above when unset)."""
    return ClusterRule(
        burst_count=settings.aefi_burst_count,
        burst_days=settings.aefi_burst_days,
        per_10k=settings.aefi_per_10k,
        rate_min_serious=settings.aefi_rate_min_serious,
    )


def cluster_reason(onsets: list[date], doses_given: int, rule: ClusterRule) -> str | None:
    """Why a lot with serious reports of these onset days and this many doses given is
    flagged: ``"burst"``, ``"rate"`` or None (not flagged). Pure: the tests state by hand."""
    days = sorted(onsets)
    k = rule.burst_count
    for i in range(len(days) - k + 1):
        if (days[i + k - 1] - days[i]).days < rule.burst_days:
            return "burst"
    if len(days) >= rule.rate_min_serious and len(days) * 10_000 >= rule.per_10k * doses_given:
        return "rate"
    return None


def lot_flags(
    session: Session, lot_ids: set[int], tz: tzinfo, rule: ClusterRule = DEFAULT_RULE
) -> dict[int, str]:
    """The flagged lots among ``lot_ids`` and why (lots not flagged are absent)."""
    if not lot_ids:
        return {}
    onsets: dict[int, list[date]] = defaultdict(list)
    for lot_id, onset in session.execute(
        select(AefiReport.lot_id, AefiReport.onset_at).where(
            AefiReport.lot_id.in_(lot_ids), AefiReport.serious.is_(True)
        )
    ):
        if lot_id is None:
            continue
        at = onset if onset.tzinfo else onset.replace(tzinfo=tz)
        onsets[lot_id].append(at.astimezone(tz).date())
    if not onsets:
        return {}
    given = dict(
        session.execute(
            select(Dose.lot_id, func.count())
            .where(Dose.lot_id.in_(set(onsets)), Dose.status != _NOT_A_DOSE_GIVEN)
            .group_by(Dose.lot_id)
        ).all()
    )
    out = {}
    for lot_id, days in onsets.items():
        reason = cluster_reason(days, int(given.get(lot_id, 0)), rule)
        if reason:
            out[lot_id] = reason
    return out


def report_dict(
    r: AefiReport, lots: dict[int, str], flags: dict[int, str], tz: tzinfo
) -> dict[str, Any]:
    """A report as the API, the CSV and the page show it, with its lot's flag."""
    onset = r.onset_at if r.onset_at.tzinfo else r.onset_at.replace(tzinfo=tz)
    return {
        "id": r.id,
        "dose_id": r.dose_id,
        "site_id": r.site_id,
        "product_code": r.product_code,
        "lot_id": r.lot_id,
        "lot_number": lots.get(r.lot_id) if r.lot_id is not None else None,
        "dose_date": r.dose_date,
        "onset_at": onset.astimezone(tz),
        "symptoms": list(r.symptoms),
        "symptoms_other": r.symptoms_other,
        "serious": r.serious,
        "seriousness": list(r.seriousness),
        "outcome": r.outcome,
        "death_date": r.death_date,
        "reporter_name": r.reporter_name,
        "reporter_role": r.reporter_role,
        "reporter_contact": r.reporter_contact,
        "notes": r.notes,
        "version": r.version,
        "lot_flagged": r.lot_id in flags,
        "flag_reason": flags.get(r.lot_id) if r.lot_id is not None else None,
    }


def reports_with_flags(
    session: Session, reports: list[AefiReport], tz: tzinfo, rule: ClusterRule = DEFAULT_RULE
) -> list[dict[str, Any]]:
    lots = lot_numbers(session, reports)
    flags = lot_flags(session, {r.lot_id for r in reports if r.lot_id is not None}, tz, rule)
    return [report_dict(r, lots, flags, tz) for r in reports]


@dataclass
class SummaryRow:
    """Counts of one product and lot (at one place when counted by place)."""

    place_code: str | None
    product_code: str
    lot_id: int | None
    lot_number: str | None
    reports: int = 0
    serious: int = 0
    deaths: int = 0
    flagged: bool = False
    flag_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarise(
    session: Session,
    actor: Actor,
    q: AefiQuery,
    *,
    tz: tzinfo,
    by: str = "lot",
    rule: ClusterRule = DEFAULT_RULE,
) -> list[SummaryRow]:
    """Reports counted by product and lot (``by`` lot), or by site, commune (ward) or
    province and lot, within the caller's area and the query; each lot's cluster flag."""
    check_reader(actor)
    if by not in BY:
        raise rule_error(
            "by",
            "unknown_level",
            f"Cấp '{by}' không hợp lệ; chọn lot, site, commune hoặc province",
            f"unknown level '{by}'; one of lot, site, commune, province",
        )
    reports = list(session.scalars(scoped(actor, q, tz)))
    places: dict[str, Site] = {}
    if by in ("commune", "province"):
        ids = {r.site_id for r in reports}
        places = {s.site_id: s for s in session.scalars(select(Site).where(Site.site_id.in_(ids)))}
    lots = lot_numbers(session, reports)
    flags = lot_flags(session, {r.lot_id for r in reports if r.lot_id is not None}, tz, rule)
    rows: dict[tuple[str | None, str, int | None], SummaryRow] = {}
    for r in reports:
        place: str | None = {
            "lot": None,
            "site": r.site_id,
            "commune": places[r.site_id].ward_code if places else None,
            "province": places[r.site_id].province_code if places else None,
        }[by]
        key = (place, r.product_code, r.lot_id)
        row = rows.get(key)
        if row is None:
            reason = flags.get(r.lot_id) if r.lot_id is not None else None
            row = rows[key] = SummaryRow(
                place, r.product_code, r.lot_id, lots.get(r.lot_id) if r.lot_id else None,
                flagged=reason is not None, flag_reason=reason,
            )  # fmt: skip
        row.reports += 1
        row.serious += int(r.serious)
        row.deaths += int(r.outcome == "died")
    return sorted(
        rows.values(),
        key=lambda x: (x.place_code or "", x.product_code, x.lot_number or ""),
    )
