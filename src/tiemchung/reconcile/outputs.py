"""What a run leaves in OUT: ``links.csv``, ``links.parquet``, ``summary.json``,
``report.html`` and ``model.json``.

The summary holds the counts the source reports used (doses verified, verified with wrong
information by field, not found, duplicates), overall, by province and by ward, and apart from
the wrong, the incomplete: verified records whose only differences are fields missing or
partial in the record (``verified_incomplete``) and, per field, the automatically linked
records that lack it (``incomplete_by_field``).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tiemchung.identity import iter_admin_units

from . import report
from .decide import LINK_COLUMNS

if TYPE_CHECKING:
    from .context import Context

ACTIONS = ("verified", "corrected", "review", "not_found", "duplicate")
FIELDS = ("national_id", "full_name", "dob", "sex", "ward_code")


@lru_cache(maxsize=1)
def unit_names() -> dict[str, str]:
    """2021 province and ward codes -> names (a ward and a province never share a code
    length, so one dictionary serves both)."""
    return {u.code: u.name for u in iter_admin_units("2021") if u.level in ("province", "ward")}


def _counts_sql() -> str:
    """The summary's counts over ``links``."""
    cols = ", ".join(f"sum(CASE WHEN action = '{a}' THEN 1 ELSE 0 END) AS {a}" for a in ACTIONS)
    fields = ", ".join(
        f"sum(CASE WHEN action = 'corrected' AND instr(mismatches, '{f}') > 0 THEN 1 ELSE 0 "
        f"END) AS wrong_{f}"
        for f in FIELDS
    )
    # incomplete (missing or partial in the record, known in the register): counted apart
    # from the wrong, over the records linked automatically (verified or corrected)
    linked = "action IN ('verified', 'corrected')"
    incomplete = ", ".join(
        f"sum(CASE WHEN {linked} AND instr(incomplete, '{f}') > 0 THEN 1 ELSE 0 END) "
        f"AS incomplete_{f}"
        for f in FIELDS
    )
    verified_incomplete = (
        "sum(CASE WHEN action = 'verified' AND incomplete <> '' THEN 1 ELSE 0 END) "
        "AS verified_incomplete"
    )
    return (
        f"SELECT count(*) AS records, {cols}, {verified_incomplete}, {fields}, {incomplete} "
        "FROM links"
    )


def _areas_sql() -> str:
    """The overall, per-province and per-ward counts in one pass over ``links`` (a view
    that joins every record to its identity: three passes cost 0.7 s at 1M people): counted
    per (province, ward) first, then the three levels summed from those few thousand rows;
    ``g`` tells them apart (``grouping_id``: 3 overall, 1 province, 2 ward)."""
    inner = _counts_sql().replace("SELECT count(*)", "SELECT province, ward, count(*)")
    counted = (
        *("records", *ACTIONS, "verified_incomplete"),
        *(f"{k}_{f}" for k in ("wrong", "incomplete") for f in FIELDS),
    )
    sums = ", ".join(f"sum({c}) AS {c}" for c in counted)
    return (
        f"SELECT province, ward, grouping_id(province, ward) AS g, {sums} FROM ({inner} "
        "GROUP BY province, ward) a GROUP BY GROUPING SETS ((), (province), (ward))"
    )


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"records": int(row["records"] or 0)}
    for a in ACTIONS:
        out[a] = int(row[a] or 0)
    out["verified_with_wrong_information"] = out["corrected"]
    # verified records whose only differences are incomplete fields (still 'verified')
    out["verified_incomplete"] = int(row["verified_incomplete"] or 0)
    out["wrong_by_field"] = {f: int(row[f"wrong_{f}"] or 0) for f in FIELDS}
    out["incomplete_by_field"] = {f: int(row[f"incomplete_{f}"] or 0) for f in FIELDS}
    return out


def summary(ctx: Context) -> dict[str, Any]:
    eng = ctx.engine
    names = unit_names()
    rows = eng.fetch(_areas_sql()).to_pylist()
    overall = _shape(next(r for r in rows if r["g"] == 3))
    areas = {}
    for level, g in (("province", 1), ("ward", 2)):
        codes = sorted(
            ((r[level], r) for r in rows if r["g"] == g),
            key=lambda c: (c[0] is None, c[0] or ""),  # by code, the unknown area last
        )
        areas[level] = [
            {"code": code, "name": names.get(code) if code else None, **_shape(r)}
            for code, r in codes
        ]
    model = ctx.model
    assert model is not None
    f = ctx.facts  # counted when their tables existed (they are dropped since)
    n_ident, n_reg, n_exact = f["identities"], f["n_register"], f["exact_pass_identities"]
    return {
        "records": overall["records"],
        "register": n_reg,
        "overall": overall,
        "by_province": areas["province"],
        "by_ward": areas["ward"],
        "pipeline": {
            "engine": ctx.opts.engine,
            "identities": n_ident,
            "exact_pass_identities": n_exact,
            "probabilistic_identities": n_ident - n_exact,
            "blocking_rules": f["blocking_rules"],
            "candidate_pairs": f["candidate_pairs"],
            # identities the second blocking rules ran for (blocking.CORE_RULES), and the
            # addresses typed without a ward code that the register's addresses placed
            "identities_second_rules": f.get("identities_second_rules"),
            # ... and the last tier, for those whose first rules found nobody plausible
            "identities_last_rules": f.get("identities_last_rules"),
            "addresses_placed": f.get("addresses_placed"),
            "sites_placed": f.get("sites_placed"),
            "comparisons": [c.name for c in ctx.plan.comparisons],
            "conflicts_sent_to_review": f["conflicts"],
            "timings_s": ctx.timings,
            "cpu_s": ctx.cpu,
            "resources": f.get("resources"),  # threads, memory and why (engines/resources.py)
        },
        "model": {
            "pi": round(model.pi, 6),
            "prior_weight": round(math.log2(model.pi) - math.log2(max(n_reg, 1)), 3),
            "thresholds": model.thresholds,
            "given": ctx.given_model,
        },
    }


def write_all(ctx: Context) -> None:
    out = ctx.opts.out
    eng = ctx.engine
    eng.export(f"SELECT {', '.join(LINK_COLUMNS)} FROM links", out / "links.parquet", "parquet")
    # the CSV from the Parquet file: reading it back costs less than joining again
    eng.convert(out / "links.parquet", out / "links.csv", "csv")
    assert ctx.model is not None
    (out / "model.json").write_text(ctx.model.to_json(), encoding="utf-8")
    doc = summary(ctx)
    (out / "summary.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "report.html").write_text(report.render(doc, ctx.model), encoding="utf-8")
