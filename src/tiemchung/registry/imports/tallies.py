"""Import the sites' hand tallies (what each site reported per day and product) into ``tallies``.

The tallies are the counts the 2021–22 campaign was judged by before the platform ("Nghệ An:
757,224 of 812,682 first doses on the software = 93%"); the dashboard sets them beside the
doses recorded. Columns: ``site_id, report_date, vaccine, reported`` as ``tiemchung synth``
writes them (``product_code`` is accepted for ``vaccine``), optionally ``dose_number`` (a tally
split by dose) and ``source``. CSV, Parquet or xlsx (first sheet, header row).

Nothing is dropped: a row that cannot be stored (unknown site or product, a site outside the
importer's area, an unreadable date or count, the same key twice with different counts, a key
already stored with another count, a per-dose tally mixed with a whole-day one) goes to a
rejects CSV with its row number and the reason. Re-importing the same file stores nothing twice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, parse_dob
from tiemchung.registry.imports.closing import close_import
from tiemchung.registry.imports.rejects import RejectsFile, RowRejectedError, RowsReport, cell_text
from tiemchung.registry.models import Product, Site, Tally
from tiemchung.registry.scope import Actor
from tiemchung.vaccines import LEGACY_NAMES

REQUIRED = ("site_id", "report_date", "reported")
BATCH = 5_000

Key = tuple[str, date, str, int | None]


class TallyFileError(Exception):
    """The file cannot be imported at all (missing, unreadable, a required column missing)."""


class TallyReport(RowsReport):
    """What a tallies import did."""


def _rows(path: Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """Column names and the rows (values as read) of a CSV, Parquet or xlsx file."""
    if not path.exists():
        raise TallyFileError(f"{path}: no such file (không tìm thấy tệp)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)

            def from_parquet() -> Iterator[dict[str, Any]]:
                for b in pf.iter_batches(batch_size=BATCH):
                    yield from b.to_pylist()

            return list(pf.schema_arrow.names), from_parquet()
        if suffix in (".csv", ".txt"):
            fh = path.open(encoding="utf-8-sig", newline="")
            reader = csv.DictReader(fh)
            names = list(reader.fieldnames or [])

            def from_csv() -> Iterator[dict[str, Any]]:
                with fh:
                    yield from reader

            return names, from_csv()
        if suffix == ".xlsx":
            from tiemchung.workbooks import open_workbook

            wb = open_workbook(path)
            it = wb.worksheets[0].iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(it, ())]

            def from_xlsx() -> Iterator[dict[str, Any]]:
                for values in it:
                    yield dict(zip(header, values, strict=False))
                wb.close()

            return header, from_xlsx()
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise TallyFileError(f"{path}: cannot be read ({exc})") from exc
    raise TallyFileError(f"{path}: unsupported format '{suffix}'; expected .csv, .parquet or .xlsx")


def _date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if v is None or not str(v).strip():
        raise RowRejectedError("report_date:required", "report_date is empty (thiếu ngày báo cáo)")
    try:
        parsed = parse_dob(str(v).strip())
    except IdentityError as exc:
        raise RowRejectedError(
            "report_date:unreadable",
            f"report_date '{v}': {exc.message_en} (ngày báo cáo không đọc được)",
        ) from None
    if parsed.day is None:
        raise RowRejectedError("report_date:unreadable", f"report_date '{v}' is not a full date")
    return parsed.to_date()


def _count(v: Any, name: str, *, minimum: int) -> int:
    s = "" if v is None else str(v).strip()
    try:
        n = int(float(s)) if s and float(s).is_integer() else int(s)
    except ValueError:
        raise RowRejectedError(
            f"{name}:unreadable",
            f"{name} '{v}' is not a whole number ({name} không phải số nguyên)",
        ) from None
    if n < minimum:
        raise RowRejectedError(
            f"{name}:range", f"{name} {n} is below {minimum} ({name} nhỏ hơn {minimum})"
        )
    return n


def import_tallies(
    session: Session, actor: Actor, file: Path | str, *, rejects_path: Path | None = None
) -> TallyReport:
    """Store the tallies of ``file``; rejected rows go to ``<file>.rejects.csv``. Commits."""
    path = Path(file)
    names, rows = _rows(path)
    product_col = "vaccine" if "vaccine" in names else "product_code"
    missing = [c for c in (*REQUIRED, product_col) if c not in names]
    if missing:
        raise TallyFileError(
            f"{path}: required column(s) {missing} missing (thiếu cột bắt buộc); "
            f"the file has {names}"
        )
    report = TallyReport(str(path))
    sites = {s.site_id: s for s in session.scalars(select(Site))}
    products: dict[str, str] = {}
    for p in session.scalars(select(Product)):
        products[p.code.casefold()] = p.code
        products.setdefault(p.name.casefold(), p.code)
    for code, name in LEGACY_NAMES.items():
        if code.casefold() in products:
            products.setdefault(name.casefold(), code)
    stored: dict[Key, int] = {
        (t.site_id, t.report_date, t.product_code, t.dose_number): t.reported
        for t in session.scalars(select(Tally))
    }
    # (site, day, product) -> whether its tallies split by dose number: never both
    split: dict[tuple[str, date, str], bool] = {}
    for k in stored:
        split[k[:3]] = k[3] is not None
    seen: dict[Key, int] = {}
    fresh: list[dict[str, Any]] = []
    rpath = rejects_path or path.with_name(path.name + ".rejects.csv")
    with RejectsFile(rpath, names) as rejects:
        for row_no, raw in enumerate(rows, start=2):
            report.rows_read += 1
            try:
                site_id = cell_text(raw, "site_id")
                site = sites.get(site_id or "")
                if site is None:
                    raise RowRejectedError(
                        "site_id:unknown",
                        f"site '{site_id}' is not a known site (điểm tiêm không có trong danh mục)",
                    )
                if not actor.can_record_at(site):
                    raise RowRejectedError(
                        "site_id:out_of_area",
                        f"site '{site_id}' is outside your area (điểm tiêm ngoài phạm vi của bạn)",
                    )
                ptext = cell_text(raw, product_col)
                product = products.get((ptext or "").casefold())
                if product is None:
                    raise RowRejectedError(
                        f"{product_col}:unknown",
                        f"vaccine '{ptext}' is not a known "
                        "product (vắc xin không có trong danh mục)",
                    )
                day = _date(raw.get("report_date"))
                reported = _count(raw.get("reported"), "reported", minimum=0)
                dn_text = cell_text(raw, "dose_number") if "dose_number" in names else None
                dose_number = _count(dn_text, "dose_number", minimum=1) if dn_text else None
            except RowRejectedError as exc:
                rejects.add(row_no, exc.key, str(exc), raw)
                continue
            key: Key = (site.site_id, day, product, dose_number)
            old = seen.get(key, stored.get(key))
            if old is not None:
                if old == reported:
                    report.rows_skipped += 1
                else:
                    rejects.add(
                        row_no,
                        "reported:conflict",
                        f"a tally for {key[0]} {day} "
                        f"{product} is already {old}, not {reported} "
                        "(đã có số báo cáo khác)",
                        raw,
                    )
                continue
            if split.setdefault(key[:3], dose_number is not None) != (dose_number is not None):
                rejects.add(
                    row_no,
                    "dose_number:mixed",
                    "a tally by dose number and one for "
                    f"the whole day for {key[0]} {day} {product} "
                    "(lẫn số theo mũi và số cả ngày)",
                    raw,
                )
                continue
            seen[key] = reported
            fresh.append(
                {
                    "site_id": key[0],
                    "report_date": day,
                    "product_code": product,
                    "dose_number": dose_number,
                    "reported": reported,
                    "source": cell_text(raw, "source") or path.name,
                }
            )
            if len(fresh) >= BATCH:
                session.execute(insert(Tally), fresh)
                report.rows_imported += len(fresh)
                fresh = []
        if fresh:
            session.execute(insert(Tally), fresh)
            report.rows_imported += len(fresh)
        close_import(
            session,
            actor,
            report,
            rejects,
            action="tally.import",
            entity="tally",
            entity_id=path.name,
            where={"source": str(path.resolve())},
        )
    return report
