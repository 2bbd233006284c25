"""FHIR Bulk Data export (issue 19 point 2): the kick-off's parameters checked, the
resources written as NDJSON from streamed rows, and the manifest of a done job.

One mapping, two speeds: a line is what :mod:`tiemchung.fhir.resources` builds for a search
answer (``resources.patient``, ``resources.immunization``), serialised with orjson. An
Immunization's constant elements (its product's codes, its site, its lot...) come from
``resources.immunization`` once per combination and are kept as text; each dose only adds its
id, times and patient (:class:`DoseMapper`, which checks each template against the resource
it came from). Around the mapping: plain row tuples streamed in chunks
(``registry/exports/rows.py``), the lot, site and product read once instead of joined, one
``write`` per chunk. The tests check every line with the ``fhir.resources`` models and
against the search's resource for the same row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from tiemchung.fhir import codes, resources
from tiemchung.registry.exports import jobs as export_jobs
from tiemchung.registry.exports.rows import (
    PERSON_COLUMNS,
    ExportScope,
    ReferenceMaps,
    dose_rows,
    person_rows,
    reference_maps,
)
from tiemchung.registry.scope import Actor
from tiemchung.store.audit import audit

log = logging.getLogger(__name__)

TYPES = ("Patient", "Immunization")
NDJSON = "application/fhir+ndjson"
#: the ``_outputFormat`` values the spec names for NDJSON (all mean the same file)
OUTPUT_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
KICKOFF_PARAMS = ("_type", "_since", "_outputFormat")


class ExportCancelledError(Exception):
    """The job was cancelled (its row deleted) while it ran: stop and remove the files."""


# -- the kick-off -----------------------------------------------------------------------------


def parse_kickoff(
    params: list[tuple[str, str]], prefer: str | None
) -> tuple[list[str], datetime | None]:
    """The kick-off's types and ``_since``, or a 400 naming what is wrong: ``Prefer:
    respond-async`` missing, a parameter not supported, a type other than Patient and
    Immunization, a ``_since`` that is not an instant, a format other than NDJSON."""
    if "respond-async" not in [p.strip() for p in (prefer or "").split(",")]:
        raise export_jobs.refused(
            "Prefer",
            "Thiếu tiêu đề Prefer: respond-async (xuất dữ liệu là bất đồng bộ)",
            "the Prefer: respond-async header is required (the export is asynchronous)",
        )
    seen: dict[str, str] = {}
    for name, value in params:
        if name not in KICKOFF_PARAMS:
            raise export_jobs.refused(
                name,
                f"Tham số {name} không được hỗ trợ (chỉ {', '.join(KICKOFF_PARAMS)})",
                f"parameter {name} is not supported (only {', '.join(KICKOFF_PARAMS)})",
            )
        if name in seen:
            raise export_jobs.refused(
                name, f"Tham số {name} chỉ được cho một lần", f"{name} may be given once"
            )
        seen[name] = value
    fmt = seen.get("_outputFormat")
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise export_jobs.refused(
            "_outputFormat",
            f"Định dạng {fmt} không được hỗ trợ; chỉ NDJSON ({NDJSON})",
            f"format {fmt} is not supported; only NDJSON ({NDJSON})",
        )
    types = list(TYPES)
    if "_type" in seen:
        types = [t.strip() for t in seen["_type"].split(",") if t.strip()]
        bad = [t for t in types if t not in TYPES]
        if bad or not types:
            raise export_jobs.refused(
                "_type",
                f"Loại tài nguyên không được hỗ trợ: {', '.join(bad) or '(trống)'}; "
                f"chỉ {', '.join(TYPES)}",
                f"resource type not supported: {', '.join(bad) or '(empty)'}; "
                f"only {', '.join(TYPES)}",
            )
        types = [t for t in TYPES if t in types]  # each once, in a fixed order
    return types, parse_since(seen["_since"]) if "_since" in seen else None


def parse_since(value: str) -> datetime:
    """``_since``: a FHIR instant, with its time and zone (``2026-01-31T08:00:00+07:00``)."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or "T" not in value or when.tzinfo is None:
        raise export_jobs.refused(
            "_since",
            f"{value!r} không phải thời điểm có múi giờ (VD 2026-01-31T08:00:00+07:00)",
            f"{value!r} is not an instant with a zone (e.g. 2026-01-31T08:00:00+07:00)",
        )
    return when.astimezone(UTC)


# -- rows to lines ----------------------------------------------------------------------------


def patient_dict(row: Sequence[Any], sy: codes.Systems | None = None) -> dict[str, Any]:
    """A person row (:data:`PERSON_COLUMNS`) as its ``Patient``: the whole record, as the
    search shows it to the staff of the person's area (an export's only readers)."""
    view = dict(zip(PERSON_COLUMNS, row, strict=True))
    updated = view.pop("updated_at")
    return resources.patient(view, sy or codes.systems(), updated)


#: the Immunization elements that differ from dose to dose; every other element is the same
#: for all doses of one (status, product, site, lot, dose number, linked or not)
_VARYING = ("id", "meta", "recorded", "occurrenceDateTime")
#: templates kept at most (one per combination seen; a new one costs one slow build)
_TEMPLATES_MAX = 50_000
#: formatted times and days kept at most
_CACHE_MAX = 100_000


class DoseMapper:
    """A dose row (``rows.DOSE_COLUMNS``) as its ``Immunization``: ``resources.immunization``
    of the row the search reads, with the lot, site and product from :class:`ReferenceMaps`.

    :meth:`line` is the fast path: the first dose of each combination of the elements that
    do not vary (status, product, site, lot, dose number, linked or not) is built by
    ``resources.immunization`` and its constant elements serialised once; the next doses of
    that combination only format their id, times and patient into that text. The template is
    checked at once against the resource it came from (parsed back and compared), and a
    combination whose check fails is always built the slow way: the mapping has one home."""

    def __init__(self, refs: ReferenceMaps, sy: codes.Systems | None = None) -> None:
        self.refs = refs
        self.sy = sy or codes.systems()
        self._templates: dict[tuple[Any, ...], str | None] = {}
        self._stamps: dict[Any, str] = {}
        self._days: dict[Any, str] = {}

    def row(self, row: Sequence[Any]) -> dict[str, Any]:
        dose_id, status, number, day, created, site_id, product, lot_id, person_id = row[:9]
        updated, group = row[9], row[10]
        lot = self.refs.lots.get(lot_id) if lot_id is not None else None
        name, mp, vp, ma = self.refs.products[product]
        site_name, site_kind, site_ward, site_province = self.refs.sites[site_id]
        group_vi, group_en = self.refs.groups.get(group, ("", "")) if group else ("", "")
        return {
            "id": dose_id,
            "status": status,
            "dose_number": number,
            "dose_date": day,
            "created_at": created,
            "updated_at": updated,
            "site_id": site_id,
            "site_kind": site_kind,
            "site_ward": site_ward,
            "site_province": site_province,
            "priority_group": group,
            "group_vi": group_vi,
            "group_en": group_en,
            "product_code": product,
            "person_id": person_id,
            "lot_number": lot[0] if lot else None,
            "expiry": lot[1] if lot else None,
            "site_name": site_name,
            "product_name": name,
            "mp": mp,
            "vp": vp,
            "ma": ma,
        }

    def resource(self, row: Sequence[Any]) -> dict[str, Any]:
        return resources.immunization(self.row(row), self.sy)

    def line(self, row: Sequence[Any]) -> str:
        """The resource's JSON text (one NDJSON line, without its newline)."""
        dose_id, status, number, day, created, site_id, product, lot_id, person_id = row[:9]
        key = (status, product, site_id, lot_id, number, person_id is None, row[10])
        try:
            static = self._templates[key]
        except KeyError:
            return self._first(key, row)
        if static is None:
            return orjson.dumps(self.resource(row)).decode()
        return self._format(static, dose_id, day, created, row[9], person_id)

    def _stamp(self, moment: Any) -> str:
        stamp = self._stamps.get(moment)
        if stamp is None:
            if len(self._stamps) >= _CACHE_MAX:
                self._stamps.clear()
            stamp = self._stamps[moment] = resources.instant(moment)
        return stamp

    def _format(
        self,
        static: str,
        dose_id: int,
        day: Any,
        created: Any,
        updated: Any,
        person_id: str | None,
    ) -> str:
        # the doses of one group commit or import share their stored time, and a day has
        # many doses: each distinct value is formatted once (the caches stay bounded)
        stamp = self._stamp(created)
        last = stamp if updated is None else self._stamp(updated)
        day_text = self._days.get(day)
        if day_text is None:
            if len(self._days) >= _CACHE_MAX:
                self._days.clear()
            day_text = self._days[day] = day if isinstance(day, str) else day.isoformat()
        patient = (
            ',"patient":{"reference":' + orjson.dumps("Patient/" + person_id).decode() + "}"
            if person_id is not None
            else ""
        )
        return (
            f'{{{static},"id":"{dose_id}","meta":{{"lastUpdated":"{last}"}},'
            f'"recorded":"{stamp}","occurrenceDateTime":"{day_text}"{patient}}}'
        )

    def _first(self, key: tuple[Any, ...], row: Sequence[Any]) -> str:
        """Build the combination's template from the row's resource, check it, keep it."""
        res = self.resource(row)
        varying = _VARYING + (("patient",) if row[8] is not None else ())
        constant = {k: v for k, v in res.items() if k not in varying}
        static: str | None = orjson.dumps(constant).decode()[1:-1] or None
        if static is not None:
            line = self._format(static, row[0], row[3], row[4], row[9], row[8])
            if orjson.loads(line) != res:  # the mapping changed what varies: slow and sure
                log.warning("export: template check failed for %s; built per row", key)
                static = None
        if len(self._templates) >= _TEMPLATES_MAX:
            self._templates.clear()
        self._templates[key] = static
        return orjson.dumps(res).decode()


def _lines(chunk: Sequence[Any], build: Callable[[Any], str]) -> bytes:
    return ("\n".join([build(r) for r in chunk]) + "\n").encode()


def _patient_line(row: Sequence[Any], sy: codes.Systems | None = None) -> str:
    return orjson.dumps(patient_dict(row, sy)).decode()


def write_type(
    session: Session,
    scope: ExportScope,
    kind: str,
    path: Path,
    progress: Callable[[int], None],
    sy: codes.Systems | None = None,
) -> int:
    """Write one type's resources of ``scope`` to ``path`` (NDJSON), chunk by chunk;
    ``progress`` is told each chunk's count (it raises to stop). The count written."""
    chunks: Iterator[Sequence[Any]]
    if kind == "Patient":
        chunks = person_rows(session, scope)
        build: Callable[[Any], str] = lambda r: _patient_line(r, sy)  # noqa: E731
    else:
        chunks, build = dose_rows(session, scope), DoseMapper(reference_maps(session), sy).line
    count = 0
    with path.open("wb", buffering=1 << 20) as out:
        for chunk in chunks:
            out.write(_lines(chunk, build))
            count += len(chunk)
            progress(len(chunk))
    return count


def export_files(
    sessions: sessionmaker[Session],
    scope: ExportScope,
    types: list[str],
    folder: Path,
    progress: Callable[[int], None] = lambda n: None,
    sy: codes.Systems | None = None,
) -> list[dict[str, Any]]:
    """The export itself, shared by the server's jobs and ``tiemchung export fhir``: one
    ``<Type>.ndjson`` per type in ``folder``; ``[{type, file, count}]`` (an empty type's
    file is written too, and listed with count 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    output = []
    for kind in types:
        name = f"{kind}.ndjson"
        with sessions() as session:
            count = write_type(session, scope, kind, folder / name, progress, sy)
        output.append({"type": kind, "file": name, "count": count})
    return output


# -- the status and the manifest --------------------------------------------------------------


def manifest(job: Any, base: str) -> dict[str, Any]:
    """A done job's manifest (Bulk Data spec): its ``transactionTime``, ``request``, the
    files' URLs (read with the same bearer token: ``requiresAccessToken``), no errors."""
    return {
        "transactionTime": resources.instant(job.transaction_time),
        "request": job.request,
        "requiresAccessToken": True,
        "output": [
            {
                "type": o["type"],
                "url": f"{base}/$export-file/{job.id}/{o['file']}",
                "count": o["count"],
            }
            for o in job.output or []
        ],
        "error": [],
    }


def progress_text(job: Any) -> str:
    """``X-Progress`` of a job still running: what it has written so far (an HTTP header is
    Latin-1: the Vietnamese without its accents)."""
    if job.status == export_jobs.QUEUED:
        return "queued / dang cho"
    return f"{job.written} resources written / da ghi {job.written} tai nguyen"


# -- the command line ---------------------------------------------------------------------------


def export_to_folder(
    sessions: sessionmaker[Session],
    actor: Actor,
    folder: Path,
    *,
    types: str | None = None,
    since: str | None = None,
    group: str | None = None,
    progress: Callable[[int], None] = lambda n: None,
    sy: codes.Systems | None = None,
) -> list[dict[str, Any]]:
    """``tiemchung export fhir``: the export a kick-off would run, written straight to
    ``folder`` (no job row: the operator owns the folder, nothing expires it). The same
    checks (``_type``, ``_since``, the Group and the caller's area) and the same files;
    audited ``export.run`` with what was written."""
    params = [("_type", types)] if types else []
    params += [("_since", since)] if since else []
    kinds, when = parse_kickoff(params, "respond-async")
    export_jobs.check_role(actor)
    kind, code = export_jobs.resolve_group(actor, group) if group else (None, None)
    scope = ExportScope(actor, kind, code, when)
    output = export_files(sessions, scope, kinds, folder, progress, sy)
    with sessions() as session:
        detail = {o["type"]: o["count"] for o in output} | {"group": code, "folder": str(folder)}
        audit(session, actor, "export.run", "export", None, detail)
        session.commit()
    return output
