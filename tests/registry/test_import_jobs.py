"""Uploaded imports as jobs (issue 17 point 3), on SQLite and PostgreSQL: created with their
files saved, run by the worker, picked up again after a crash, and scoped to the uploader's
area. The files are written here by hand, each row with the outcome it must have."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.factories import world
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.imports import jobs
from tiemchung.registry.imports.runner import ImportRunner
from tiemchung.registry.models import AuditEvent, Dose, ImportJob, User
from tiemchung.registry.scope import Actor, Role

HEADER = "Họ và tên,Ngày sinh,Giới tính,Loại vắc xin,Mũi,Ngày tiêm,Mã điểm tiêm"
ROWS = [
    "NguyÔn V¨n Hïng,05/03/1990,Nam,Sinopharm,1,15/08/2021,",  # TCVN3 name typed in Unicode
    "Trần Thị Mỹ,02/01/1985,Nữ,Pfizer-BioNTech,2,01/09/2021,",
    "Lê Văn Tám,01/01/1970,Nam,Covaxin,1,01/10/2021,",  # no such product
    "Đỗ Văn Bình,1999,Nam,AZ,1,01/08/2021,S-B1",  # another province's site
]


def _csv(rows: list[str] = ROWS) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def _actor(platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        u = s.scalars(select(User).where(User.username == username)).one()
        return Actor(u.id, u.username, Role(u.role), u.province_code, u.ward_code, u.site_id)


def _create(
    platform: Platform,
    actor: Actor,
    files: dict[str, bytes],
    *,
    site: str | None = None,
    max_mb: int = 5,
    mapping: tuple[str, bytes] | None = None,
) -> int:
    uploads = [jobs.Upload(name, io.BytesIO(data)) for name, data in files.items()]
    with platform.sessions() as s:
        job = jobs.create_job(
            s,
            actor,
            uploads,
            data_dir=platform.settings.data_dir,
            max_mb=max_mb,
            site=site,
            mapping=jobs.Upload(mapping[0], io.BytesIO(mapping[1])) if mapping else None,
        )
        s.commit()
        return job.id


def test_a_job_saves_its_files_runs_and_reports(platform: Platform) -> None:
    site_a1 = _actor(platform, "site_a1")
    job_id = _create(platform, site_a1, {"sổ tiêm.csv": _csv()})
    with platform.sessions() as s:
        job = s.get(ImportJob, job_id)
        assert job is not None and job.status == "queued"
        saved = Path(job.folder) / job.files[0]
        assert saved.read_bytes() == _csv()  # on disk before anyone is answered
        assert Path(job.folder).parent == Path(platform.settings.data_dir).resolve() / "imports"
        assert (job.site_id, job.area_site_id, job.rows_total) == ("S-A1", "S-A1", 5)

    assert jobs.run_job(platform.sessions, job_id) == "done"
    with platform.sessions() as s:
        view = jobs.job_view(jobs.get_job(s, site_a1, job_id))
        assert view["status"] == "done" and view["progress"]["percent"] == 100
        report = view["report"]
        assert (report["rows_read"], report["rows_stored"], report["rows_rejected"]) == (4, 2, 2)
        assert report["reasons"] == {"vaccine:unknown_product": 1, "site_id:unknown_site": 1}
        assert report["unknown_vaccines"] == {"Covaxin": 1}
        assert '"Họ và tên" = "full_name"' in report["guessed_mapping"][0]["toml"]
        stored = sorted(
            (d.full_name, d.product_code, d.site_id)
            for d in s.scalars(select(Dose).where(Dose.record_id.like("fp-%")))
        )
        assert stored == [
            ("Nguyễn Văn Hùng", "VEROCELL", "S-A1"),
            ("Trần Thị Mỹ", "PFIZER", "S-A1"),
        ]
        actions = [
            (e.action, e.entity_id, (e.detail or {}).get("status"))
            for e in s.scalars(select(AuditEvent).where(AuditEvent.entity == "import_job"))
        ]
        assert actions == [
            ("import_job.create", str(job_id), None),
            ("import_job.finish", str(job_id), "done"),
        ]
        path = jobs.rejects_file(s, site_a1, job_id)
    with path.open(encoding="utf-8") as fh:
        refused = [(r["row"], r["full_name"], r["site_id"]) for r in csv.DictReader(fh)]
    assert refused == [("4", "Lê Văn Tám", "S-A1"), ("5", "Đỗ Văn Bình", "S-B1")]
    assert jobs.run_job(platform.sessions, job_id) is None  # a finished job is not run again


def test_a_job_left_running_by_a_crash_is_picked_up_at_start(platform: Platform) -> None:
    ward = _actor(platform, "ward_a1")
    crashed = _create(platform, ward, {"a.csv": _csv(ROWS[:2])}, site="S-A1")
    never_run = _create(platform, ward, {"b.csv": _csv(ROWS[1:2])}, site="S-A1")
    # the "crash": the first chunk is stored, then the server stops before the job ends
    stop = threading.Event()
    stop.set()
    assert jobs.run_job(platform.sessions, crashed, stop=stop) == "running"
    with platform.sessions() as s:
        assert s.get(ImportJob, crashed).status == "running"  # type: ignore[union-attr]
        assert s.scalar(select(Dose.id).where(Dose.full_name == "Trần Thị Mỹ")) is not None

    runner = ImportRunner(platform.sessions).start()
    try:
        assert runner.wait_idle(60)
    finally:
        runner.stop()
    with platform.sessions() as s:
        first = s.get(ImportJob, crashed)
        second = s.get(ImportJob, never_run)
        assert first is not None and second is not None
        assert (first.status, first.attempts, second.status) == ("done", 2, "done")
        # idempotent: the rows the crashed run stored are skipped, never stored twice
        assert first.report is not None and second.report is not None
        assert (first.report["rows_stored"], first.report["rows_skipped"]) == (0, 2)
        assert (second.report["rows_stored"], second.report["rows_skipped"]) == (0, 1)
        assert len(s.scalars(select(Dose).where(Dose.full_name == "Trần Thị Mỹ")).all()) == 1


@pytest.mark.parametrize(
    ("username", "site", "status"),
    [
        ("site_a1", "S-B1", 403),  # a site: its own site only
        ("ward_a1", "S-A2", 403),  # a commune: the sites of its ward
        ("prov_a", "S-B1", 403),  # a province: its province
        ("prov_a", "S-NOWHERE", 422),
        ("citizen_an", None, 403),
    ],
)
def test_a_site_outside_the_area_is_refused_and_nothing_kept(
    platform: Platform, username: str, site: str | None, status: int
) -> None:
    with pytest.raises(ServiceError) as err:
        _create(platform, _actor(platform, username), {"a.csv": _csv()}, site=site)
    assert err.value.status == status
    assert err.value.problems[0].field == ("role" if username == "citizen_an" else "site")
    assert not list(jobs.jobs_folder(platform.settings.data_dir).glob("*/*"))


def test_jobs_are_read_within_the_area_only(platform: Platform) -> None:
    job_id = _create(platform, _actor(platform, "site_a1"), {"a.csv": _csv(ROWS[:1])})
    central = _create(platform, _actor(platform, "central"), {"c.csv": _csv(ROWS[:1])})
    with platform.sessions() as s:
        for reader in ("site_a1", "ward_a1", "prov_a", "central"):
            assert job_id in [j.id for j in jobs.list_jobs(s, _actor(platform, reader))]
        for outsider in ("site_b1", "ward_b1", "prov_b"):
            actor = _actor(platform, outsider)
            assert jobs.list_jobs(s, actor) == []
            with pytest.raises(ServiceError) as err:
                jobs.get_job(s, actor, job_id)
            assert err.value.status == 404
        ids = [j.id for j in jobs.list_jobs(s, _actor(platform, "central"))]
        assert ids == [central, job_id]  # newest first
        assert central not in [j.id for j in jobs.list_jobs(s, _actor(platform, "prov_a"))]


def test_bad_files_are_refused_by_name(platform: Platform) -> None:
    site_a1 = _actor(platform, "site_a1")
    cases = [
        ({"notes.docx": b"x"}, "files.0", "unknown_format", "notes.docx", 5),
        ({"a.csv": _csv(), "bad.xlsx": b"not a workbook"}, "files.1", "unreadable", "bad.xlsx", 5),
        ({"big.csv": b"x" * (1024 * 1024 + 1)}, "files.0", "too_large", "big.csv", 1),
    ]
    for files, field, rule, name, max_mb in cases:
        with pytest.raises(ServiceError) as err:
            _create(platform, site_a1, files, max_mb=max_mb)
        p = err.value.problems[0]
        assert (p.field, p.rule) == (field, rule)
        assert name in p.message_vi and name in p.message_en
        assert err.value.status == (413 if rule == "too_large" else 422)
    with pytest.raises(ServiceError) as err:
        _create(platform, site_a1, {"a.csv": _csv()}, mapping=("m.toml", b'[columns]\n"X" = "y"\n'))
    assert (err.value.problems[0].field, err.value.problems[0].rule) == ("mapping", "unreadable")
    assert "m.toml" in err.value.problems[0].message_en
    assert not list(jobs.jobs_folder(platform.settings.data_dir).glob("*/*"))
    with platform.sessions() as s:
        assert s.scalars(select(ImportJob)).all() == []


def test_a_mapping_upload_is_used_and_no_guess_is_offered(platform: Platform) -> None:
    mapping = '[columns]\n"Tên người tiêm" = "full_name"\n[vaccines]\n"Covaxin" = "AZ"\n'
    rows = ["Tên người tiêm,Loại vắc xin,Mũi,Ngày tiêm", "Hồ Thị Em,Covaxin,1,01/10/2021"]
    job_id = _create(
        platform,
        _actor(platform, "site_a1"),
        {"m.csv": ("\n".join(rows) + "\n").encode()},
        mapping=("cot.toml", mapping.encode()),
    )
    assert jobs.run_job(platform.sessions, job_id) == "done"
    with platform.sessions() as s:
        job = s.get(ImportJob, job_id)
        assert job is not None and job.report is not None
        assert (job.report["rows_stored"], job.report["guessed_mapping"]) == (1, [])
        s.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="queued"))
        s.commit()
    assert jobs.run_job(platform.sessions, job_id) == "done"  # again: all skipped
    with platform.sessions() as s:
        job = s.get(ImportJob, job_id)
        assert job is not None and job.report is not None
        assert (job.report["rows_stored"], job.report["rows_skipped"]) == (0, 1)
    assert world().sites["a1"] == "S-A1"


def test_a_job_whose_file_is_gone_fails_with_its_reason(platform: Platform) -> None:
    job_id = _create(platform, _actor(platform, "site_a1"), {"a.csv": _csv()})
    with platform.sessions() as s:
        job = s.get(ImportJob, job_id)
        assert job is not None
        (Path(job.folder) / "a.csv").unlink()  # lost from the disk before the worker ran
    assert jobs.run_job(platform.sessions, job_id) == "failed"
    with platform.sessions() as s:
        job = s.get(ImportJob, job_id)
        assert job is not None and job.status == "failed" and job.error is not None
        assert "a.csv" in job.error["message_en"] and "no such file" in job.error["message_en"]
        assert job.folder not in job.error["message_en"]  # the server's paths stay its own
        finish = s.scalars(select(AuditEvent).where(AuditEvent.action == "import_job.finish")).one()
        assert finish.detail is not None and finish.detail["status"] == "failed"


def test_an_upload_name_never_leaves_the_job_folder(platform: Platform) -> None:
    long_name = "../../" + "x" * 300 + ".CSV"
    job_id = _create(platform, _actor(platform, "site_a1"), {long_name: _csv(ROWS[:1])})
    with platform.sessions() as s:
        job = s.get(ImportJob, job_id)
        assert job is not None
        (saved,) = job.files
        assert saved == "x" * 100 + ".CSV"  # the format kept, the folders dropped
        assert (Path(job.folder) / saved).read_bytes() == _csv(ROWS[:1])
    assert jobs.run_job(platform.sessions, job_id) == "done"
