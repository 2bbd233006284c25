"""FHIR Bulk Data export over HTTP on both backends: the kick-off, the status polled, the
manifest, the NDJSON files downloaded (every line parsed with the ``fhir.resources`` R4B
models and equal to the resource the read API answers for the same row: one mapping),
``_type``, ``_since``, the area scoping, the owner-only files, cancellation and expiry."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from sqlalchemy import update

from tests.api.conftest import Api
from tests.factories import PROVINCE_A, submission, world
from tiemchung.auth.users import active_actor
from tiemchung.core import Platform
from tiemchung.fhir import export_runner
from tiemchung.fhir.export_runner import runner_for
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.exports import jobs
from tiemchung.registry.models import AuditEvent, Dose, Person
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.exports import ExportJob

SYSTEM = Actor.system("tests")
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
MODELS = {"Patient": Patient, "Immunization": Immunization}


@pytest.fixture
def doses(platform: Platform) -> dict[str, int]:
    """An's two doses and Bình's at a1 (ward a1), Cường's at a2, Dũng's at b1 (province B),
    and one for nobody in the register entered at a1."""
    w = world()
    subs = {
        "an1": submission("an"),
        "an2": submission("an", dose_number=2, dose_date=date(2021, 10, 25)),
        "binh": submission("binh", product_code="AZ", lot_number="AZ-OK"),
        "cuong": submission(
            "cuong", product_code="MODERNA", lot_number="MO-OK", site_id=w.sites["a2"]
        ),
        "dung": submission("dung", site_id=w.sites["b1"], dose_date=date(2021, 10, 2)),
        "nobody": submission(None),
    }
    results = platform.writer.run(
        lambda s: record_doses(
            s, platform.catalog, SYSTEM, list(subs.values()), today=date(2022, 6, 1)
        )
    )
    out = {}
    for label, r in zip(subs, results, strict=True):
        assert r.error is None and r.dose is not None, (label, r.error)
        out[label] = int(r.dose["id"])
    return out


def kickoff(api: Api, path: str, as_: str, headers: dict[str, str] | None = None, **params: Any):
    return api.client.get(
        f"/fhir/R4{path}",
        headers=api.headers(as_) | (ASYNC if headers is None else headers),
        params=params,
    )


def status_path(r: Any) -> str:
    assert r.status_code == 202, r.text
    return urlsplit(r.headers["Content-Location"]).path


def finished(api: Api, platform: Platform, r: Any, as_: str) -> dict[str, Any]:
    """Wait for the job the kick-off ``r`` started; its manifest."""
    path = status_path(r)
    assert runner_for(platform).wait_idle(60)
    done = api.client.get(path, headers=api.headers(as_))
    assert done.status_code == 200, done.text
    manifest: dict[str, Any] = done.json()
    return manifest


def download(api: Api, manifest: dict[str, Any], as_: str) -> dict[str, list[dict[str, Any]]]:
    """Every file of the manifest, each line validated by its model; the resources by type."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["output"]:
        r = api.client.get(urlsplit(item["url"]).path, headers=api.headers(as_))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert len(lines) == item["count"]
        for line in lines:
            assert line["resourceType"] == item["type"]
            MODELS[item["type"]].model_validate(line)
        out[item["type"]] = lines
    return out


def outcome(r: Any, status: int) -> OperationOutcome:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate(r.json())


def test_system_export_kickoff_poll_manifest_download(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    r = kickoff(api, "/$export", "central")
    manifest = finished(api, platform, r, "central")
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["request"].endswith("/fhir/R4/$export")
    stamp = datetime.fromisoformat(manifest["transactionTime"].replace("Z", "+00:00"))
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [
        ("Patient", 5),
        ("Immunization", 6),
    ]
    got = download(api, manifest, "central")
    assert sorted(p["id"] for p in got["Patient"]) == [
        "P-AN",
        "P-BINH",
        "P-CUONG",
        "P-DUNG",
        "P-EM",
    ]
    assert sorted(int(i["id"]) for i in got["Immunization"]) == sorted(doses.values())


def test_every_line_is_the_resource_the_read_api_answers(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    """One truth, two speeds: the export's fast lines equal ``GET /Patient/{id}`` and
    ``GET /Immunization/{id}`` (built per row by ``fhir/resources.py``)."""
    got = download(
        api, finished(api, platform, kickoff(api, "/$export", "central"), "central"), "central"
    )
    for kind, lines in got.items():
        for line in lines:
            r = api.client.get(f"/fhir/R4/{kind}/{line['id']}", headers=api.headers("central"))
            assert r.status_code == 200, r.text
            assert line == r.json()
    unlinked = next(i for i in got["Immunization"] if int(i["id"]) == doses["nobody"])
    assert "reference" not in unlinked["patient"]
    with_lot = next(i for i in got["Immunization"] if int(i["id"]) == doses["binh"])
    assert with_lot["lotNumber"] == "AZ-OK"


def test_running_job_answers_202_with_progress(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    """A job not yet run (here: queued, the runner busy elsewhere) is polled 202."""
    with platform.sessions() as s:
        job = jobs.create_job(
            s,
            _actor(api, platform, "central"),
            request="x",
            types=["Patient"],
            since=None,
            group=None,
            data_dir=platform.settings.data_dir,
        )
        s.commit()
        job_id = job.id
    r = api.client.get(f"/fhir/R4/$export-status/{job_id}", headers=api.headers("central"))
    assert r.status_code == 202
    assert "queued" in r.headers["X-Progress"]
    assert int(r.headers["Retry-After"]) > 0


def _actor(api: Api, platform: Platform, username: str) -> Actor:
    with platform.sessions() as s:
        actor = active_actor(s, username)
    assert actor is not None
    return actor


def test_type_selects_and_others_are_refused(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    manifest = finished(
        api, platform, kickoff(api, "/$export", "central", _type="Immunization"), "central"
    )
    assert [o["type"] for o in manifest["output"]] == ["Immunization"]
    bad = outcome(kickoff(api, "/$export", "central", _type="Patient,Observation"), 400)
    assert bad.issue[0].expression == ["_type"]
    assert "Observation" in (bad.issue[0].diagnostics or "")
    fmt = outcome(kickoff(api, "/$export", "central", _outputFormat="text/csv"), 400)
    assert fmt.issue[0].expression == ["_outputFormat"]
    ok_fmt = kickoff(api, "/$export", "central", _outputFormat="application/ndjson")
    status_path(ok_fmt)
    unknown = outcome(kickoff(api, "/$export", "central", _typeFilter="Patient?x=1"), 400)
    assert unknown.issue[0].expression == ["_typeFilter"]
    since = outcome(kickoff(api, "/$export", "central", _since="2024-01-01"), 400)
    assert since.issue[0].expression == ["_since"]
    no_async = outcome(kickoff(api, "/$export", "central", headers={}), 400)
    assert no_async.issue[0].expression == ["Prefer"]
    assert "respond-async" in (no_async.issue[0].diagnostics or "")


def test_since_reads_persons_and_doses_update_times(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    old = datetime(2022, 1, 1, tzinfo=UTC)
    recent = datetime(2025, 6, 1, tzinfo=UTC)
    with platform.sessions() as s:
        s.execute(update(Person).values(updated_at=old))
        s.execute(update(Person).where(Person.person_id == "P-EM").values(updated_at=recent))
        s.execute(update(Dose).values(created_at=old, updated_at=None))
        s.execute(update(Dose).where(Dose.id == doses["cuong"]).values(updated_at=recent))
        s.execute(update(Dose).where(Dose.id == doses["dung"]).values(created_at=recent))
        s.commit()
    r = kickoff(api, "/$export", "central", _since="2024-12-31T17:00:00+07:00")
    got = download(api, finished(api, platform, r, "central"), "central")
    assert [p["id"] for p in got["Patient"]] == ["P-EM"]
    assert sorted(int(i["id"]) for i in got["Immunization"]) == sorted(
        [doses["cuong"], doses["dung"]]
    )


def test_scoping_a_commune_and_a_province(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    w = world()
    refused = outcome(kickoff(api, f"/Group/{w.wards['a2']}/$export", "ward_a1"), 403)
    assert refused.issue[0].expression == ["group"]
    assert w.wards["a2"] in (refused.issue[0].diagnostics or "")
    outcome(kickoff(api, f"/Group/{PROVINCE_A}/$export", "ward_a1"), 403)
    outcome(kickoff(api, "/Group/99999/$export", "central"), 404)
    outcome(kickoff(api, "/$export", "site_a1"), 403)
    outcome(kickoff(api, "/$export", "citizen_an"), 403)
    # a commune's own ward: its people and the doses of its area
    mine = download(
        api,
        finished(
            api, platform, kickoff(api, f"/Group/{w.wards['a1']}/$export", "ward_a1"), "ward_a1"
        ),
        "ward_a1",
    )
    assert sorted(p["id"] for p in mine["Patient"]) == ["P-AN", "P-BINH"]
    mine_doses = sorted(int(i["id"]) for i in mine["Immunization"])
    assert doses["cuong"] not in mine_doses and doses["dung"] not in mine_doses
    assert {doses["an1"], doses["an2"], doses["binh"]} <= set(mine_doses)
    # a province's system export: its province only; the province as a Group alike
    prov = download(
        api, finished(api, platform, kickoff(api, "/$export", "prov_a"), "prov_a"), "prov_a"
    )
    assert sorted(p["id"] for p in prov["Patient"]) == ["P-AN", "P-BINH", "P-CUONG"]
    assert doses["dung"] not in {int(i["id"]) for i in prov["Immunization"]}
    group = download(
        api,
        finished(api, platform, kickoff(api, f"/Group/{PROVINCE_A}/$export", "prov_a"), "prov_a"),
        "prov_a",
    )
    assert sorted(p["id"] for p in group["Patient"]) == ["P-AN", "P-BINH", "P-CUONG"]
    outcome(kickoff(api, f"/Group/{PROVINCE_A}/$export", "prov_b"), 403)


def test_only_the_asker_polls_and_downloads(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    r = kickoff(api, "/$export", "prov_a")
    manifest = finished(api, platform, r, "prov_a")
    path = status_path(r)
    outcome(api.client.get(path, headers=api.headers("central")), 404)
    file_path = urlsplit(manifest["output"][0]["url"]).path
    outcome(api.client.get(file_path, headers=api.headers("central")), 404)
    outcome(api.client.get(file_path), 401)
    outcome(api.client.delete(path, headers=api.headers("prov_b")), 404)
    other = file_path.rsplit("/", 1)[0] + "/secrets.ndjson"
    outcome(api.client.get(other, headers=api.headers("prov_a")), 404)


def test_delete_cancels_and_removes_the_files(
    api: Api, platform: Platform, doses: dict[str, int]
) -> None:
    r = kickoff(api, "/$export", "central")
    finished(api, platform, r, "central")
    path = status_path(r)
    job_id = int(path.rsplit("/", 1)[1])
    folder = platform.settings.data_dir / "exports" / str(job_id)
    assert (folder / "Patient.ndjson").is_file()
    gone = api.client.delete(path, headers=api.headers("central"))
    assert gone.status_code == 202
    assert not folder.exists()
    outcome(api.client.get(path, headers=api.headers("central")), 404)
    with platform.sessions() as s:
        actions = [e.action for e in s.query(AuditEvent).filter(AuditEvent.entity == "export_job")]
    assert {"export.create", "export.finish", "export.delete"} <= set(actions)


def test_expired_jobs_lose_their_files(api: Api, platform: Platform, doses: dict[str, int]) -> None:
    r = kickoff(api, "/$export", "central")
    finished(api, platform, r, "central")
    path = status_path(r)
    folder = platform.settings.data_dir / "exports" / path.rsplit("/", 1)[1]
    assert folder.is_dir()
    with platform.sessions() as s:
        assert jobs.expire_jobs(s) == []  # not yet: 24 hours by default
        expired = jobs.expire_jobs(s, datetime.now(UTC) + timedelta(hours=25))
    assert expired == [int(path.rsplit("/", 1)[1])]
    assert not folder.exists()
    outcome(api.client.get(path, headers=api.headers("central")), 404)


def test_a_job_left_running_by_a_crash_runs_at_start(
    platform: Platform, doses: dict[str, int], tmp_path: Path
) -> None:
    with platform.sessions() as s:
        job = jobs.create_job(
            s,
            SYSTEM,
            request="r",
            types=["Patient"],
            since=None,
            group=None,
            data_dir=platform.settings.data_dir,
        )
        job.status = jobs.RUNNING  # as a killed server left it, a partial file written
        s.commit()
        job_id, folder = job.id, Path(job.folder)
    folder.mkdir(parents=True)
    (folder / "Patient.ndjson").write_text("{partial")
    runner = runner_for(platform).start()
    assert runner.wait_idle(60)
    with platform.sessions() as s:
        done = s.get(ExportJob, job_id)
        assert done is not None and done.status == jobs.DONE and done.attempts == 1
    lines = (folder / "Patient.ndjson").read_text().splitlines()
    assert len(lines) == 5
    for line in lines:
        Patient.model_validate_json(line)


def test_a_job_cancelled_while_running_stops_and_leaves_no_file(
    platform: Platform, doses: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DELETE lands while the job writes: its next progress finds the row gone."""
    with platform.sessions() as s:
        job = jobs.create_job(
            s, SYSTEM, request="r", types=["Patient", "Immunization"], since=None,
            group=None, data_dir=platform.settings.data_dir,
        )  # fmt: skip
        s.commit()
        job_id, folder = job.id, Path(job.folder)
    real = export_runner.export_files

    def cancelled_meanwhile(*args: Any, **kwargs: Any) -> Any:
        with platform.sessions() as s:
            jobs.cancel_job(s, SYSTEM, job_id)
        return real(*args, **kwargs)

    def never(*args: Any, **kwargs: Any) -> bool:
        raise AssertionError("the job ran to its end: the cancellation went unseen")

    monkeypatch.setattr(export_runner, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(export_runner, "export_files", cancelled_meanwhile)
    monkeypatch.setattr(jobs, "finish_job", never)
    status = export_runner.run_export_job(platform.sessions, job_id, expiry_hours=1)
    assert status is None
    assert not folder.exists()
    with platform.sessions() as s:
        assert s.get(ExportJob, job_id) is None


def test_a_failed_job_is_polled_as_an_operation_outcome(
    api: Api, platform: Platform, doses: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(export_runner, "export_files", broken)
    r = kickoff(api, "/$export", "central")
    path = status_path(r)
    assert runner_for(platform).wait_idle(60)
    failed = outcome(api.client.get(path, headers=api.headers("central")), 500)
    assert "OSError" in (failed.issue[0].diagnostics or "")
    assert not (platform.settings.data_dir / "exports" / path.rsplit("/", 1)[1]).exists()
