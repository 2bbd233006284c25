"""The export's fast lines against the one mapping (``fhir/resources.py``): for rows of every
shape (linked or not, with or without a lot, a double entry, a name needing JSON escapes,
naive and zoned times), the NDJSON line parses to exactly ``resources.immunization`` of the
same row and validates with the ``fhir.resources`` R4B models; a mapping that starts to vary
an element the templates hold constant falls back to the slow path, still equal."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient

from tiemchung.fhir import bulk, resources
from tiemchung.registry.exports.rows import ReferenceMaps

REFS = ReferenceMaps(
    lots={1: ("PF-001", date(2030, 1, 1)), 2: ('AZ "quoted" \\ lot', None)},
    sites={
        "S1": ("Trạm Y tế Phường 1", "commune_health_station", "00004", "01"),
        "S2": ('Bệnh viện "Đa khoa"', "hospital", "00007", "01"),
    },
    products={
        "PFIZER": ("Comirnaty", "EU/1/20/1528", "J07BX03", "ORG-100030215"),
        "AZ": ("Vaxzevria", "EU/1/21/1529", "J07BX03", "ORG-100001699"),
        "OTHER": ("Vắc xin khác", "Other-Vaccine", "1119349007", "ORG-1"),
    },
    groups={"NQ21-01": ("Người làm việc trong các cơ sở y tế", "Health workers")},
)
ICT = timezone(timedelta(hours=7))


def rows() -> list[tuple[Any, ...]]:
    """Dose rows (``rows.DOSE_COLUMNS``): two of each combination (the second takes the
    template path), in every shape the store holds."""
    out = []
    shapes = [
        ("verified", "PFIZER", "S1", 1, "P-AN"),
        ("unverified", "AZ", "S2", 2, None),
        ("duplicate", "PFIZER", "S1", None, 'P-"odd"\\id'),
        ("rejected", "OTHER", "S2", None, None),
        ("verified", "OTHER", "S1", 1, "P-Đức"),
    ]
    for k, (status, product, site, lot, person) in enumerate(shapes):
        for j in range(2):
            created: datetime = datetime(2021, 10, 1, 8, k, j, tzinfo=ICT)
            if k % 2:
                created = datetime(2021, 10, 1, 1, k, j)  # SQLite: naive UTC
            day: date | str = date(2021, 9, 30 - j) if j else "2021-09-01"
            # a later correction's time on some; a priority group on the linked ones
            updated = created.replace(day=5) if (k + j) % 3 == 0 else None
            group = "NQ21-01" if person is not None and j else None
            out.append(
                (100 * k + j, status, 1 + j % 2, day, created, site, product, lot, person,
                 updated, group)
            )  # fmt: skip
    return out


def test_every_dose_line_is_the_mapping_and_valid() -> None:
    mapper = bulk.DoseMapper(REFS)
    for row in rows() + rows():  # the second pass: every line from a template
        line = mapper.line(row)
        assert json.loads(line) == resources.immunization(mapper.row(row), mapper.sy)
        Immunization.model_validate_json(line)
    first = json.loads(mapper.line(rows()[4]))  # the double entry: (k, j) at 2k + j
    assert first["status"] == "entered-in-error"
    assert first["patient"] == {"reference": 'Patient/P-"odd"\\id'}
    assert json.loads(mapper.line(rows()[2]))["lotNumber"] == 'AZ "quoted" \\ lot'
    assert json.loads(mapper.line(rows()[3]))["recorded"] == "2021-10-01T01:01:01Z"
    assert json.loads(mapper.line(rows()[0]))["recorded"] == "2021-10-01T01:00:00Z"


def test_a_mapping_varying_a_templated_element_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = resources.immunization

    def with_note(row: dict[str, Any], sy: Any) -> dict[str, Any]:
        out = real(row, sy)
        out["note"] = [{"text": f"dose {row['id']}"}]  # differs per dose: not templatable
        return out

    monkeypatch.setattr(resources, "immunization", with_note)
    mapper = bulk.DoseMapper(REFS)
    for row in rows():
        line = mapper.line(row)
        assert json.loads(line) == with_note(mapper.row(row), mapper.sy)
        assert json.loads(line)["note"] == [{"text": f"dose {row[0]}"}]


def test_patient_lines_validate() -> None:
    row = ("P-1", "001085123456", "012345678", "Nguyễn Văn An", "1985", "M", "00004", "01",
           'Thôn "1"', "0912000001", datetime(2026, 1, 2, tzinfo=UTC))  # fmt: skip
    line = json.loads(bulk._patient_line(row))
    Patient.model_validate(line)
    assert line["birthDate"] == "1985"
    assert line["address"][0]["text"] == 'Thôn "1"'
    assert {i["value"] for i in line["identifier"]} == {"P-1", "001085123456", "012345678"}


def test_since_needs_an_instant_with_its_zone() -> None:
    assert bulk.parse_since("2026-01-31T08:00:00+07:00") == datetime(2026, 1, 31, 1, tzinfo=UTC)
    for bad in ("2026-01-31", "2026-01-31T08:00:00", "yesterday"):
        with pytest.raises(Exception) as err:
            bulk.parse_since(bad)
        assert getattr(err.value, "status", None) == 400


def test_a_corrected_dose_and_its_priority_group_reach_the_line() -> None:
    """The export shows what the search shows: meta.lastUpdated the correction's time (the
    record's storing stays `recorded`), and the registration's priority group as reasonCode."""
    mapper = bulk.DoseMapper(REFS)
    corrected = [r for r in rows() if r[9] is not None and r[10] is not None]
    assert corrected, "the rows must hold a corrected dose with a group"
    for row in corrected + corrected:  # the second pass from the template
        line = json.loads(mapper.line(row))
        assert line["meta"]["lastUpdated"] == resources.instant(row[9])
        assert line["recorded"] == resources.instant(row[4])
        assert line["reasonCode"][0]["coding"][0]["code"] == "NQ21-01"
        assert (
            line["reasonCode"][0]["coding"][0]["display"] == "Người làm việc trong các cơ sở y tế"
        )
