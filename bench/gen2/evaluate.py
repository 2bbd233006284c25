"""Score a reconcile run against this generator's truth, with what ``reconcile score`` cannot
see: link recall per error process, ``not_found`` precision, and mismatches counted against
the WRONG fields and, apart, how many INCOMPLETE fields were reported as mismatches. When the
run's links have reconcile's ``incomplete`` column, it is scored per field against the
INCOMPLETE fields (``incomplete_by_field``: precision/recall/F1, and how many WRONG fields it
called incomplete), over the records linked to the right person, as the mismatches are.

``tiemchung reconcile score`` reads only ``wrong_fields``; this reads the per-field columns
too, so the issue's questions (is a year-only date called wrong? which error processes cost
recall?) have numbers.
"""

from __future__ import annotations

import csv as _csv
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FIVE = ("national_id", "full_name", "dob", "sex", "ward_code")


def _read(folder: Path, name: str) -> list[dict[str, Any]]:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.exists():
        return pq.read_table(parquet).to_pylist()
    with csv.open(encoding="utf-8-sig") as fh:  # every column as text, as reconcile reads it
        names = next(_csv.reader(fh))
    opts = pacsv.ConvertOptions(strings_can_be_null=True,
                                column_types=dict.fromkeys(names, pa.string()))
    return pacsv.read_csv(csv, convert_options=opts).to_pylist()


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 6), "recall": round(r, 6),
            "f1": round(2 * p * r / (p + r), 6) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


def evaluate(data: Path | str, run: Path | str) -> dict[str, Any]:
    """``data``: the generator's folder (``truth``); ``run``: reconcile's ``--out``."""
    truth = {t["record_id"]: t for t in _read(Path(data), "truth")}
    links = {str(x["record_id"]): x for x in _read(Path(run), "links")}
    tp = fp = fn = 0
    nf_right = nf_wrong = 0
    per_process: dict[str, Counter[str]] = {}
    mism: dict[str, Counter[str]] = {f: Counter() for f in FIVE}
    # reconcile's own ``incomplete`` column (runs since issue 16), scored against the truth's
    # INCOMPLETE fields the way mismatches are against the WRONG ones
    has_inc = any("incomplete" in x for x in links.values())
    inc: dict[str, Counter[str]] = {f: Counter() for f in FIVE}
    for rid, t in truth.items():
        link = links.get(rid, {})
        got = link.get("person_id") or None
        want = t["person_id"] or None
        if got is not None and got == want:
            tp += 1
        else:
            fp += got is not None
            fn += want is not None
        if link.get("action") == "not_found":
            nf_right += want is None
            nf_wrong += want is not None
        if want is not None:
            for f in (*FIVE, "phone", "address"):
                for proc in (t.get(f"{f}_process") or "").split(";"):
                    if proc:
                        c = per_process.setdefault(f"{f}.{proc}", Counter())
                        c["records"] += 1
                        c["linked"] += got == want
            if got == want:
                flagged = set((link.get("mismatches") or "").split(";")) - {""}
                said = set((link.get("incomplete") or "").split(";")) - {""}
                for f in FIVE:
                    status = t.get(f"{f}_status") or "correct"
                    key = {"wrong": "wrong", "incomplete": "incomplete"}.get(status, "correct")
                    mism[f][f"{key}_{'flagged' if f in flagged else 'not_flagged'}"] += 1
                    inc[f][f"{key}_{'said' if f in said else 'not_said'}"] += 1
    return {
        "records": len(truth), "links_missing": sum(1 for r in truth if r not in links),
        "link": _prf(tp, fp, fn),
        "not_found": {"records": nf_right + nf_wrong, "in_register": nf_wrong,
                      "precision": round(nf_right / (nf_right + nf_wrong), 6)
                      if nf_right + nf_wrong else 1.0},
        "link_recall_by_process": {
            k: {"records": c["records"], "recall": round(c["linked"] / c["records"], 6)}
            for k, c in sorted(per_process.items())},
        "mismatch_by_field": {
            f: {**_prf(c["wrong_flagged"], c["correct_flagged"] + c["incomplete_flagged"],
                       c["wrong_not_flagged"]),
                "incomplete_flagged": c["incomplete_flagged"],
                "incomplete": c["incomplete_flagged"] + c["incomplete_not_flagged"]}
            for f, c in mism.items()},
        **({"incomplete_by_field": {
            f: {**_prf(c["incomplete_said"], c["correct_said"] + c["wrong_said"],
                       c["incomplete_not_said"]),
                "wrong_said": c["wrong_said"]}
            for f, c in inc.items()}} if has_inc else {}),
    }
