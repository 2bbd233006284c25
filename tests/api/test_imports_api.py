"""``POST /api/v1/imports`` end to end (issue 17 point 3), on SQLite and PostgreSQL: a real
multipart upload of a small CSV with Vietnamese headers and a TCVN3 row, answered 202 and
polled until done, its rejects downloaded; the refusals as problem documents."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.api.conftest import Api
from tiemchung.core import Platform
from tiemchung.registry.imports import jobs
from tiemchung.registry.imports.runner import runner_for
from tiemchung.registry.models import ImportJob, User
from tiemchung.registry.scope import Actor, Role
from tiemchung.server import create_app

CSV = (
    "DANH SÁCH TIÊM CHỦNG TRẠM Y TẾ\n"  # a title line above the header
    "STT,Họ và tên,Ngày sinh,Giới tính,Số CCCD,Loại vắc xin,Mũi,Ngày tiêm\n"
    "1,NguyÔn V¨n Hïng,05/03/1990,Nam,040190012345,Sinopharm,1,15/08/2021\n"  # TCVN3
    "2,Trần Thị Mỹ,02/01/1985,Nữ,,AZ,2,01/09/2021\n"
    "3,Lê Văn Tám,01/01/1970,Nam,,Covaxin,1,01/10/2021\n"
    "4,Lê Văn Tám,01/01/1970,Nam,,Covaxin,2,01/11/2021\n"
    "5,Phạm Thị Hoa,01/01/1960,Nữ,,Comirnaty,một,01/10/2021\n"
).encode()


def _upload(api: Api, as_: str, files: list[tuple[str, bytes]], **form: str) -> Any:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return api.post("/imports", as_, files=parts, data=form)


def _wait(api: Api, location: str, as_: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the job as a client would, until it ends."""
    t0 = time.monotonic()
    while True:
        r = api.client.get(location, headers=api.headers(as_))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["status"] in ("queued", "running", "done", "failed")
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() - t0 < timeout, body
        time.sleep(0.1)


def test_an_upload_is_answered_202_and_runs_to_its_report(api: Api) -> None:
    r = _upload(api, "site_a1", [("sổ tiêm 2021.csv", CSV)], source="an-binh")
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["Location"] == f"/api/v1/imports/{job['id']}"
    assert job["status"] in ("queued", "running", "done")
    assert job["files"] == ["sổ_tiêm_2021.csv"] and job["site_id"] == "S-A1"
    assert job["progress"]["rows_total"] == 7  # the lines of the file

    done = _wait(api, r.headers["Location"], "site_a1")
    assert done["status"] == "done" and done["progress"]["percent"] == 100
    report = done["report"]
    assert (report["rows_read"], report["rows_stored"], report["rows_rejected"]) == (5, 2, 3)
    assert report["reasons"] == {"vaccine:unknown_product": 2, "dose_number:unreadable": 1}
    assert report["unknown_vaccines"] == {"Covaxin": 2}
    assert '"Họ và tên" = "full_name"' in report["guessed_mapping"][0]["toml"]
    assert done["rejects_url"] == f"/api/v1/imports/{job['id']}/rejects"

    rejects = api.client.get(done["rejects_url"], headers=api.headers("site_a1"))
    assert rejects.status_code == 200
    assert rejects.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(rejects.text)))
    assert [(x["row"], x["full_name"], x["vaccine"]) for x in rows] == [
        ("5", "Lê Văn Tám", "Covaxin"),
        ("6", "Lê Văn Tám", "Covaxin"),
        ("7", "Phạm Thị Hoa", "Comirnaty"),
    ]
    listed = api.get("/imports", "ward_a1").json()["items"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert api.get("/imports", "site_b1").json()["items"] == []
    assert api.get(f"/imports/{job['id']}", "site_b1").status_code == 404

    again = _upload(api, "site_a1", [("sổ tiêm 2021.csv", CSV)], source="an-binh")
    second = _wait(api, again.headers["Location"], "site_a1")["report"]
    assert (second["rows_stored"], second["rows_skipped"], second["rows_rejected"]) == (0, 2, 3)


def test_a_commune_user_uploads_for_a_site_of_its_ward(api: Api, platform: Platform) -> None:
    r = _upload(api, "ward_a1", [("a.csv", CSV)], site="S-A1")
    assert r.status_code == 202, r.text
    assert _wait(api, r.headers["Location"], "ward_a1")["report"]["rows_stored"] == 2
    assert api.get(f"/imports/{r.json()['id']}", "prov_b").status_code == 404


def _problem(r: Any, status: int, field: str, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    item: dict[str, Any] = r.json()["errors"][0]
    assert (item["field"], item["rule"]) == (field, rule)
    return item


def test_refusals_say_what_and_where_in_both_languages(api: Api, platform: Platform) -> None:
    item = _problem(
        _upload(api, "site_a1", [("a.csv", CSV), ("ghi chú.docx", b"x")]),
        422,
        "files.1",
        "unknown_format",
    )
    assert "ghi chú.docx" in item["message_vi"] and "ghi chú.docx" in item["message_en"]
    assert "định dạng" in item["message_vi"] and "format" in item["message_en"]
    item = _problem(
        _upload(api, "site_a1", [("so.xlsx", b"PK not really a workbook")]),
        422,
        "files.0",
        "unreadable",
    )
    assert "so.xlsx" in item["message_vi"] and "cannot read" in item["message_en"]
    item = _problem(
        _upload(api, "site_a1", [("a.csv", CSV)], site="S-B1"), 403, "site", "out_of_area"
    )
    assert "S-B1" in item["message_en"]
    _problem(_upload(api, "ward_a1", [("a.csv", CSV)], site="S-A2"), 403, "site", "out_of_area")
    _problem(_upload(api, "citizen_an", [("a.csv", CSV)]), 403, "role", "role_not_allowed")
    platform.settings.import_max_mb = 1
    item = _problem(
        _upload(api, "site_a1", [("big.csv", CSV + b"x" * (1 << 20))]), 413, "files.0", "too_large"
    )
    assert "big.csv" in item["message_en"] and "1 MB" in item["message_vi"]
    mapping = [("mapping", ("m.toml", b'[columns]\n"A" = "nope"\n', "text/plain"))]
    r = api.post("/imports", "site_a1", files=[("files", ("a.csv", CSV, "text/csv")), *mapping])
    assert "'nope'" in _problem(r, 422, "mapping", "unreadable")["message_en"]
    assert api.client.post("/api/v1/imports", files=[("files", ("a.csv", CSV))]).status_code == 401
    assert api.get("/imports", "site_a1").json()["items"] == []  # nothing was queued


def test_the_routes_are_documented_with_their_answers(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    post = spec["paths"]["/api/v1/imports"]["post"]
    assert {"202", "403", "413", "422"} <= set(post["responses"])
    assert "Location" in post["responses"]["202"]["headers"]
    schema = post["responses"]["202"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ImportJobOut"}
    assert "multipart/form-data" in post["requestBody"]["content"]
    job = spec["components"]["schemas"]["ImportJobOut"]
    assert job["examples"][0]["report"]["unknown_vaccines"] == {"Covaxin": 9, "Abdala": 3}
    assert "/api/v1/imports/{job_id}/rejects" in spec["paths"]
    assert "get" in spec["paths"]["/api/v1/imports/{job_id}"]


def test_the_server_runs_at_start_a_job_a_crash_left_running(platform: Platform) -> None:
    """The job is created (its files saved) and marked running as a crash would leave it,
    with no runner; the server's start picks it up and runs it to its report."""
    with platform.sessions() as s:
        u = s.scalars(select(User).where(User.username == "site_a1")).one()
        actor = Actor(u.id, u.username, Role(u.role), site_id=u.site_id)
        job = jobs.create_job(
            s,
            actor,
            [jobs.Upload("a.csv", io.BytesIO(CSV))],
            data_dir=platform.settings.data_dir,
            max_mb=5,
        )
        s.execute(update(ImportJob).where(ImportJob.id == job.id).values(status="running"))
        s.commit()
        job_id = job.id
    with TestClient(create_app(platform)):
        assert runner_for(platform).wait_idle(60)
    with platform.sessions() as s:
        done = s.get(ImportJob, job_id)
        assert done is not None and done.status == "done" and done.attempts == 1
        assert done.report is not None and done.report["rows_stored"] == 2
