"""The statistics routes' response shapes (``api/routes/stats.py``), with the examples the
OpenAPI page shows: every level's dashboard (issue 17) answers in these."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

_SNAPSHOT_EXAMPLE: dict[str, Any] = {
    "max_age_minutes": 10,
    "built_at": "2026-12-07T03:46:00+00:00",
    "age_seconds": 42,
    "refreshing": False,
    "rows": {"persons": 49657, "doses": 108633},
    "export_seconds": 1.2,
    "build_seconds": 0.8,
}


class Snapshot(BaseModel):
    """How fresh the figures are: the snapshot they were computed from."""

    max_age_minutes: int
    built_at: str
    age_seconds: int
    refreshing: bool
    rows: dict[str, int] | None = None
    export_seconds: float | None = None
    build_seconds: float | None = None


class StatsOverview(BaseModel):
    """The tables there are and the caller's own area: a commune user's ward, a site user's
    site and ward, a province user's province, or none of them (central: the country)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {  # type: ignore[dict-item]
                    "tables": ["coverage", "doses_by_product", "backlog", "stock"],
                    "province": "40",
                    "ward": "16941",
                    "site": None,
                    "snapshot": _SNAPSHOT_EXAMPLE,
                }
            ]
        }
    )

    tables: list[str]
    province: str | None
    ward: str | None = None
    site: str | None = None
    snapshot: Snapshot


class TableColumn(BaseModel):
    key: str
    vi: str
    en: str
    kind: Literal["text", "int", "pct", "date"]


class Words(BaseModel):
    vi: str
    en: str


class StatsTable(BaseModel):
    name: str
    title: Words
    note: Words
    columns: list[TableColumn]
    rows: list[dict[str, Any]]
    truncated: bool


class StatsTableAnswer(BaseModel):
    """One table as JSON (``format=json``): its columns in both languages and its rows."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "snapshot": _SNAPSHOT_EXAMPLE,
                    "table": {
                        "name": "doses_by_product",
                        "title": {
                            "vi": "Số mũi tiêm theo vắc xin và giới tính",
                            "en": "Doses by vaccine and sex",
                        },
                        "note": {"vi": "…", "en": "…"},
                        "columns": [
                            {"key": "product", "vi": "Vắc xin", "en": "Vaccine", "kind": "text"},
                            {"key": "male", "vi": "Nam", "en": "Male", "kind": "int"},
                            {"key": "female", "vi": "Nữ", "en": "Female", "kind": "int"},
                            {"key": "unknown", "vi": "Không ghi", "en": "Not given", "kind": "int"},
                            {"key": "total", "vi": "Tổng", "en": "Total", "kind": "int"},
                        ],
                        "rows": [
                            {"product": "PFIZER", "male": 2, "female": 0, "unknown": 0, "total": 2},
                            {"product": "AZ", "male": 0, "female": 1, "unknown": 0, "total": 1},
                            {
                                "product": "Tổng / Total",
                                "male": 2,
                                "female": 1,
                                "unknown": 0,
                                "total": 3,
                            },
                        ],
                        "truncated": False,
                    },
                }
            ]
        }
    )

    snapshot: Snapshot
    table: StatsTable


class RefreshAnswer(BaseModel):
    """A refresh was started; the figures in use until it ends are this snapshot's."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"snapshot": _SNAPSHOT_EXAMPLE}]})

    snapshot: Snapshot
