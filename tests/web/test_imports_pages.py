"""The upload page and a job's page in-process (both backends): a site uploads a CSV, the
worker runs it, the job page shows the report, the unknown vaccines and the rejects link; a
commune picks among its ward's sites; a refusal comes back on the form in the visitor's
language."""

from __future__ import annotations

import re

from tests.web.conftest import Web
from tiemchung.core import Platform
from tiemchung.registry.imports.runner import runner_for

CSV = (
    "Họ và tên,Ngày sinh,Loại vắc xin,Mũi,Ngày tiêm\n"
    "NguyÔn V¨n Hïng,05/03/1990,Sinopharm,1,15/08/2021\n"
    "Lê Văn Tám,01/01/1970,Covaxin,1,01/10/2021\n"
).encode()


def _upload(web: Web, files: list[tuple[str, bytes]], **form: str) -> object:
    web.page("/imports")
    parts = [("files", (name, data, "text/csv")) for name, data in files]
    return web.client.post(
        "/imports",
        data={"csrf_token": web.csrf, **form},
        files=parts,
        follow_redirects=False,
    )


def test_a_site_uploads_and_reads_its_report(web: Web, platform: Platform) -> None:
    web.sign_in("site_a1")
    page = web.page("/imports")
    assert page.status_code == 200 and 'id="nav-imports"' in page.text
    assert 'name="site"' not in page.text  # a site imports for its own site only
    r = _upload(web, [("sổ tiêm.csv", CSV)])
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    location = r.headers["location"]  # type: ignore[attr-defined]
    job_id = int(re.fullmatch(r"/imports/(\d+)", location).group(1))  # type: ignore[union-attr]
    assert runner_for(platform).wait_idle(60)

    status = web.client.get(f"/imports/{job_id}/status").json()
    assert status["status"] == "done" and status["progress"]["percent"] == 100
    job = web.page(location).text
    assert "2 rows read" not in job  # Vietnamese by default
    assert "Đã đọc 2 dòng = đã lưu 1 + đã có từ trước 0 + bị từ chối 1." in job
    assert 'data-vaccine="Covaxin"' in job and '"Covaxin" = "MÃ_VẮC_XIN"' in job
    assert f'href="/imports/{job_id}/rejects.csv"' in job
    rejects = web.client.get(f"/imports/{job_id}/rejects.csv")
    assert rejects.status_code == 200 and "Lê Văn Tám" in rejects.text
    assert "Covaxin" in rejects.text.splitlines()[1]
    listed = web.page("/imports").text
    assert f'data-job="{job_id}"' in listed


def test_a_commune_picks_among_its_sites_and_sees_refusals(web: Web, platform: Platform) -> None:
    web.sign_in("ward_a1")
    page = web.page("/imports").text
    assert 'value="S-A1"' in page and 'value="S-B1"' not in page and 'value="S-A2"' not in page
    r = _upload(web, [("a.csv", CSV), ("b.docx", b"x")], site="S-A1")
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert 'data-field="files.1"' in r.text and "b.docx" in r.text  # type: ignore[attr-defined]
    assert "định dạng" in r.text  # type: ignore[attr-defined]
    r = _upload(web, [("a.csv", CSV)], site="S-B1")
    assert r.status_code == 403 and "S-B1" in r.text  # type: ignore[attr-defined]
    r = _upload(web, [("a.csv", CSV)], site="S-A1")
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert runner_for(platform).wait_idle(60)
    job = web.page(r.headers["location"] + "?lang=en").text  # type: ignore[attr-defined]
    assert "2 rows read = 1 stored + 0 already stored + 1 rejected." in job


def test_the_nav_links_the_page_for_site_and_commune_users_only(web: Web) -> None:
    web.sign_in("prov_a")
    assert 'id="nav-imports"' not in web.page("/stock").text
    assert web.page("/imports").status_code == 200  # reachable, only not in the nav
