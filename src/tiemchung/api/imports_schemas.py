"""Answer models of the import routes (``api/routes/imports.py``), with the examples the
OpenAPI page shows. A job's fields are those of ``registry/imports/jobs.job_view``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_REPORT_EXAMPLE: dict[str, Any] = {
    "rows_read": 1250,
    "rows_stored": 1231,
    "rows_skipped": 0,
    "rows_rejected": 19,
    "reasons": {"vaccine:unknown_product": 12, "dose_date:unreadable": 7},
    "unknown_vaccines": {"Covaxin": 9, "Abdala": 3},
    "guessed_mapping": [
        {
            "file": "tram-an-binh.xlsx",
            "sheet": "Đợt 1",
            "toml": '[columns]\n"Họ và tên" = "full_name"\n"Ngày tiêm" = "dose_date"\n',
        }
    ],
    "headless": [{"file": "tram-an-binh.xlsx", "sheet": "Ghi chú"}],
}
_JOB_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "status": "done",
    "files": ["tram-an-binh.xlsx"],
    "mapping_file": None,
    "site_id": "S-79-26734",
    "source": "an-binh-2021",
    "created_by": "tyt_anbinh",
    "created_at": "2026-12-07T09:30:00Z",
    "started_at": "2026-12-07T09:30:01Z",
    "finished_at": "2026-12-07T09:30:09Z",
    "attempts": 1,
    "progress": {"rows_read": 1250, "rows_total": 1254, "percent": 100},
    "report": _REPORT_EXAMPLE,
    "error": None,
    "rejects_url": "/api/v1/imports/42/rejects",
}


class ImportProgress(BaseModel):
    rows_read: int = Field(description="rows read so far (updated after each chunk)")
    rows_total: int | None = Field(
        description="about how many rows the files hold, title and header rows included; "
        "null when a file cannot tell cheaply"
    )
    percent: int | None = Field(description="0-100; 100 only when done; null if unknown")


class GuessedMapping(BaseModel):
    file: str
    sheet: str = Field(description="the sheet's name; empty for a CSV or Parquet file")
    toml: str = Field(description="the columns found, as a mapping file to save and edit")


class HeadlessSheet(BaseModel):
    file: str
    sheet: str


class ImportReport(BaseModel):
    """What became of every row: read = stored + skipped + rejected."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REPORT_EXAMPLE]})

    rows_read: int
    rows_stored: int
    rows_skipped: int = Field(description="already stored (the same file imported again)")
    rows_rejected: int = Field(description="kept in the rejects file with row and reason")
    reasons: dict[str, int] = Field(description="field:rule -> rows refused for it")
    unknown_vaccines: dict[str, int] = Field(
        description="vaccine names no product answers, with their rows: add a synonym "
        "(a mapping's [vaccines] section) and import again"
    )
    guessed_mapping: list[GuessedMapping] = Field(
        description="the columns guessed from each sheet's headers (when no mapping was given)"
    )
    headless: list[HeadlessSheet] = Field(
        description="sheets with no header row: their rows are rejected"
    )


class ImportJobError(BaseModel):
    rule: str
    message_vi: str
    message_en: str


class ImportJobOut(BaseModel):
    """An import job: its status, its progress and, once done, its report."""

    model_config = ConfigDict(json_schema_extra={"examples": [_JOB_EXAMPLE]})

    id: int
    status: Literal["queued", "running", "done", "failed"]
    files: list[str] = Field(description="the files as saved (their names, made safe)")
    mapping_file: str | None
    site_id: str | None = Field(description="the site of rows that name none")
    source: str | None = Field(description="prefixes the files' own record ids")
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="runs started: more than 1 after a restart")
    progress: ImportProgress
    report: ImportReport | None
    error: ImportJobError | None = Field(description="why a failed job failed")
    rejects_url: str | None = Field(description="the rejects CSV, when rows were refused")


class ImportJobList(BaseModel):
    """The jobs of the caller's area, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_JOB_EXAMPLE]}]})

    items: list[ImportJobOut]
