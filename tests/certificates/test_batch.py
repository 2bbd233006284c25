"""Certificates for a whole ward (:func:`certify_area`), the service behind `certify --ward`:
every person with a verified dose gets one, as a file each or one merged PDF."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.certificates.conftest import record
from tests.factories import submission, world
from tiemchung.certificates.batch import BatchReport, certify_area, merged_name
from tiemchung.certificates.keys import KeyStore
from tiemchung.core import Platform
from tiemchung.registry.models import IssuedCertificate
from tiemchung.registry.scope import Actor

ACTOR = Actor.system("tests")


def _certify(
    platform: Platform, keys: KeyStore, out: Path, ward: str, *, merged: bool = False
) -> tuple[BatchReport, list[tuple[int, int]]]:
    progress: list[tuple[int, int]] = []
    report = certify_area(
        platform.writer,
        platform.sessions,
        ACTOR,
        keys,
        out,
        ward_code=ward,
        merged=merged,
        tz=platform.settings.timezone,
        progress=lambda done, total: progress.append((done, total)),
    )
    return report, progress


def test_a_ward_gets_a_pdf_per_person(platform: Platform, keys: KeyStore, tmp_path: Path) -> None:
    record(platform, submission("an"), submission("binh"))
    ward = world().wards["a1"]
    report, progress = _certify(platform, keys, tmp_path / "out", ward)
    assert (report.persons, report.issued, report.refused) == (2, 2, 0)
    assert sorted(p.name for p in report.files) == ["P-AN.pdf", "P-BINH.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF") for p in report.files)
    assert progress == [(0, 2), (2, 2)]
    with platform.sessions() as s:
        issued = s.scalar(select(func.count()).select_from(IssuedCertificate))
    assert issued == 2  # issued through the writer, committed


def test_merged_is_one_file_and_an_empty_area_writes_nothing(
    platform: Platform, keys: KeyStore, tmp_path: Path
) -> None:
    record(platform, submission("an"), submission("binh"))
    ward = world().wards["a1"]
    report, _ = _certify(platform, keys, tmp_path / "out", ward, merged=True)
    target = tmp_path / "out" / merged_name(ward_code=ward, province_code=None)
    assert report.files == [target] and report.issued == 2
    assert b"/Count 2" in target.read_bytes()  # one page per person
    empty, progress = _certify(platform, keys, tmp_path / "none", "00000")
    assert (empty.persons, empty.files, progress) == (0, [], [])
