"""Issue 14's "done when": the demo prints a certificate whose QR verifies with `tiemchung
verify` — end to end, as a person would do it, with nothing made by the test itself:

1. ``tiemchung demo`` (a small province: ``--people 600``) builds and serves in a subprocess,
   and its output says where the signing keys are;
2. the site's nurse signs in over HTTP and prints a certificate from the desk's print route;
3. poppler's ``pdftoppm`` rasterises the PDF, zxing-cpp's reader finds the QR on the page;
4. ``tiemchung verify`` checks that text against the trust list the demo serves: valid, for
   this person — and not valid against another country's key (the check can fail);
5. the command the demo prints (``TIEMCHUNG_DATA_DIR=… tiemchung verify --image …``) says
   valid for the scanned page.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import create_engine, select

from tests.web.conftest import CSRF, free_port
from tiemchung.certificates.keys import KeyStore
from tiemchung.demo import DEMO_PASSWORD
from tiemchung.registry.models import Dose, Person, User


@dataclass
class Demo:
    base: str
    directory: Path
    output: str


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without its TIEMCHUNG_* settings (the demo sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIEMCHUNG_")}
    return env | extra


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if not (shutil.which("pdftoppm")):
        pytest.skip("poppler-utils (pdftoppm) missing: bash scripts/system-packages")
    directory = tmp_path_factory.mktemp("made-by-demo")
    port = free_port()
    log = directory.parent / f"{directory.name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "tiemchung.cli.main", "demo", "--dir", str(directory)),
                *("--people", "600", "--port", str(port)),
            ],
            env=_env(),
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log.read_text())
            time.sleep(0.2)
        yield Demo(base, directory, log.read_text())
    finally:
        proc.terminate()
        proc.wait(15)


def _site_login(output: str) -> str:
    found = re.search(r"^\s+(\S+)\s+site / ", output, re.M)
    assert found, output
    return found.group(1)


def _person_vaccinated_at(directory: Path, username: str) -> tuple[str, str]:
    """(person_id, full name) of a register person with a verified dose given at the site of
    ``username`` (the demo's database, read directly)."""
    engine = create_engine(f"sqlite:///{directory / 'tiemchung.db'}")
    try:
        with engine.connect() as c:
            site = c.scalar(select(User.site_id).where(User.username == username))
            row = c.execute(
                select(Person.person_id, Person.full_name)
                .join(Dose, Dose.person_pk == Person.id)
                .where(Dose.site_id == site, Dose.status == "verified")
                .order_by(Person.id)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    return str(row[0]), str(row[1])


def _csrf(client: httpx.Client, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found, path
    return found.group(1)


def _verify(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    r = subprocess.run(
        [sys.executable, "-m", "tiemchung.cli.main", "verify", *args],
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=120,
    )
    return r.returncode, r.stdout + r.stderr


def test_the_demo_prints_a_certificate_whose_qr_verifies(demo: Demo, tmp_path: Path) -> None:
    keys = demo.directory / "keys" / "dcc"
    # 1. the demo made the keys and says where they are
    assert KeyStore(keys).exists()
    assert f"certificate signing keys: {keys}" in demo.output
    # 2. the nurse prints from the desk
    nurse = _site_login(demo.output)
    person_id, full_name = _person_vaccinated_at(demo.directory, nurse)
    with httpx.Client(base_url=demo.base, timeout=30) as client:
        signed_in = client.post(
            "/signin",
            data={
                "username": nurse,
                "password": DEMO_PASSWORD,
                "csrf_token": _csrf(client, "/signin"),
            },
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        printed = client.post(
            "/desk/certificate",
            data={"person_id": person_id, "csrf_token": _csrf(client, "/desk")},
        )
        assert printed.status_code == 200, printed.text
        assert printed.headers["content-type"] == "application/pdf"
        trust = client.get("/api/v1/trust-list").json()
    (tmp_path / "certificate.pdf").write_bytes(printed.content)
    words = subprocess.run(
        ["pdftotext", "-raw", str(tmp_path / "certificate.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "giờ Việt Nam / Vietnam time (UTC+7)" in words and "tiemchung" not in words
    # 3. the page as a scanner sees it
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "150",
            "-singlefile",
            str(tmp_path / "certificate.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    found = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert len(found) == 1 and found[0].text.startswith("HC1:")
    hc1 = found[0].text
    # 4. against the served trust list: valid, and it is this person's certificate
    (current,) = [d for d in trust["dsc"] if d["current"]]
    (tmp_path / "dsc.der").write_bytes(base64.b64decode(current["certificate"]))
    code, out = _verify(hc1, "--cert", str(tmp_path / "dsc.der"), "--json")
    assert code == 0, out
    verdict = json.loads(out)
    assert verdict["valid"] is True and verdict["steps"]["signature"] == "pass"
    nam = verdict["dcc"]["nam"]
    assert f"{nam['fn']} {nam['gn']}" == full_name
    other = KeyStore.for_data_dir(tmp_path / "elsewhere")
    other.init()
    code, out = _verify(hc1, "--cert", str(other.folder / "csca.pem"), "--json")
    assert code == 1 and json.loads(out)["valid"] is False
    # 5. the command the demo printed, on the scanned page
    hint = re.search(r"TIEMCHUNG_DATA_DIR=(\S+) tiemchung verify --image", demo.output)
    assert hint and Path(hint.group(1)) == demo.directory
    code, out = _verify(
        "--image",
        str(tmp_path / "page.png"),
        env=_env(TIEMCHUNG_DATA_DIR=hint.group(1)),
    )
    assert code == 0 and "VALID / HỢP LỆ" in out, out
