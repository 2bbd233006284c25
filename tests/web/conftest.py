"""Fixtures for the pages: an in-process client (both backends), and for the browser tests a
real `tiemchung serve` process over a small demo province, driven by Debian's Chromium.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.factories import PASSWORD
from tiemchung.core import Platform
from tiemchung.registry.models import VaccinationSession
from tiemchung.server import create_app

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Web:
    """A TestClient that signs in through the sign-in form, like a browser."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def page(self, path: str, **kw: Any) -> httpx.Response:
        r = self.client.get(path, **kw)
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def sign_in(self, username: str, password: str = PASSWORD, next: str = "") -> httpx.Response:
        self.page("/signin")
        return self.client.post(
            "/signin",
            data={
                "username": username,
                "password": password,
                "csrf_token": self.csrf,
                "next": next,
            },
            follow_redirects=False,
        )

    def htmx(self, path: str, data: dict[str, str], **kw: Any) -> httpx.Response:
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf} | kw.pop("headers", {})
        return self.client.post(path, data=data, headers=headers, **kw)


@pytest.fixture
def web(platform: Platform) -> Iterator[Web]:
    with TestClient(create_app(platform)) as client:
        yield Web(client)


@pytest.fixture
def web2(web: Web) -> Web:
    """A second browser (its own cookies) on the same app: another reviewer."""
    return Web(TestClient(web.client.app))


def today_session(platform: Platform, site_id: str, product: str = "PFIZER") -> int:
    """A session at ``site_id`` today (the seeded ones are in 2021)."""
    with platform.sessions() as s:
        sid = s.execute(
            insert(VaccinationSession)
            .values(
                site_id=site_id,
                session_date=platform.today(),
                product_code=product,
                planned_count=50,
                status="open",
            )
            .returning(VaccinationSession.id)
        ).scalar_one()
        s.commit()
    platform.catalog.reload()
    return int(sid)


# -- the browser tests' server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoServer:
    base: str
    data_dir: Path
    database_url: str
    users: dict[str, str]  # role -> username
    person: dict[str, Any]  # a register person of the site's ward, with a 12-digit ID
    password: str


def _build_demo(directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """A small demo province (the `tiemchung demo` machinery with 600 people) and signing
    keys; the demo's own session today at the desk user's site is checked, not added."""
    from sqlalchemy import func, select

    from tiemchung.certificates.keys import KeyStore
    from tiemchung.config import Settings
    from tiemchung.demo import build_demo
    from tiemchung.installation import initialise
    from tiemchung.registry.models import Dose, Person, User

    settings = Settings(data_dir=directory, database_url=f"sqlite:///{directory / 'tiemchung.db'}")
    initialise(settings)
    # seed 10: its reconciliation leaves review items in the commune's ward (the worklist
    # tests need three); seed 8's were all linked automatically once the model handled a
    # one-letter name slip and a year typo (issue 16)
    build_demo(settings, people=600, seed=10)
    assert KeyStore.for_data_dir(directory).exists()  # `tiemchung demo` makes the keys
    with Platform(settings) as platform:  # noqa: SIM117 - the session's block keeps its place
        with platform.sessions() as s:
            users = {u.role: u.username for u in s.scalars(select(User).order_by(User.id))}
            site_user = s.scalar(select(User).where(User.role == "site"))
            assert site_user is not None and site_user.site_id is not None
            person = s.scalars(
                select(Person)
                .where(Person.ward_code == site_user.ward_code, Person.dob.like("____-__-__"))
                .order_by(Person.id)
            ).all()
            chosen = next(p for p in person if p.national_id and len(p.national_id) == 12)
            info = {
                c: getattr(chosen, c)
                for c in ("person_id", "national_id", "full_name", "dob", "sex", "address")
            }
            info["next_dose"] = 1 + (
                s.scalar(select(func.max(Dose.dose_number)).where(Dose.person_pk == chosen.id)) or 0
            )
            # `tiemchung demo` plans today's sessions itself, so the desk works out of the box
            today = datetime.now(ZoneInfo(settings.timezone)).date()
            planned = s.scalars(
                select(VaccinationSession.product_code).where(
                    VaccinationSession.site_id == site_user.site_id,
                    VaccinationSession.session_date == today,
                )
            ).all()
            assert planned == ["PFIZER"], planned
            citizen = s.scalar(select(User).where(User.role == "citizen"))
            assert citizen is not None and citizen.person_pk is not None
            me = s.get(Person, citizen.person_pk)
            assert me is not None
            info["citizen"] = {
                c: getattr(me, c) for c in ("person_id", "national_id", "full_name", "dob")
            }
    return users, info


@contextmanager
def served(directory: Path, url: str, *, tries: int = 300) -> Iterator[str]:
    """A real `tiemchung serve` process over ``directory``'s data on a free loopback port,
    its base URL once /api/v1/health answers (the log is in ``directory/serve.log``)."""
    port = free_port()
    env = dict(os.environ, TIEMCHUNG_DATA_DIR=str(directory), TIEMCHUNG_DATABASE_URL=url)
    log = directory / "serve.log"
    command = [sys.executable, "-m", "tiemchung.cli.main", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(tries):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError(log.read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash scripts/system-packages)")
    from tiemchung.demo import DEMO_PASSWORD

    directory = tmp_path_factory.mktemp("demo")
    users, person = _build_demo(directory)
    url = f"sqlite:///{directory / 'tiemchung.db'}"
    with served(directory, url) as base:
        yield DemoServer(base, directory, url, users, person, DEMO_PASSWORD)


@pytest.fixture(scope="session")
def browser(demo_server: DemoServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context per test (its own cookies), tablet-sized."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="vi-VN")
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()
