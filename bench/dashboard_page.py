"""The dashboard page in the browser: time to the ``load`` event on the demo province, before
and after, measured in the same run.

    .venv/bin/python bench/dashboard_page.py                 # → bench/results/dashboard_page.json
    .venv/bin/python bench/dashboard_page.py --dir /tmp/dashpage --loads 9 --before 6cd3ea2

1. The demo province (``tiemchung demo``'s ~50,000 people, built once into ``--dir`` and
   reused).
2. Two ``tiemchung serve`` processes over that same data: this checkout ("after") and the
   ``src/`` of ``--before`` (a commit, unpacked with ``git archive`` into a temporary folder and
   put first on ``PYTHONPATH``; default: the commit before the dashboard's issue-14 work).
   Both read the same statistics snapshot (built once, never refreshed during the run).
3. Debian's Chromium (Playwright) signs in to each, then loads each page ``--loads`` times,
   the two versions interleaved load by load so both see the same machine load. Per load the
   Navigation Timing entry: ``load`` (loadEventEnd), ``dcl`` (DOMContentLoaded end),
   ``ttfb`` (responseStart), ``response`` (responseEnd), and the HTML's size.
4. Median and p90 per page and version → JSON with the machine, versions and inputs.

The target (issue 14): ≤ 500 ms to ``load`` on the demo province.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import write_result

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: the last commit before the issue-14 dashboard work (its fault report's measurements)
BEFORE = "6cd3ea2"
PAGES = {
    "province": ("province", "/dashboard"),
    "province_ward_age_dates": (
        "province",
        "/dashboard?ward=16941&age_group=18-49&date_from=2021-09-01&date_to=2021-12-31",
    ),
    "central_country": ("central", "/dashboard"),
    # every load a filter not seen before (an end date after the last dose, moved a day each
    # time: the same figures, computed afresh): the cost without the page cache
    "province_cold": ("province", "/dashboard?date_to={day}"),
}
COLD_FROM = date(2022, 7, 1)
NAV = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd, ttfb: n.responseStart,
          response: n.responseEnd, bytes: n.decodedBodySize}; }"""


def build(directory: Path) -> dict[str, Any]:
    """The demo province in ``directory`` (made once; a second run reuses it)."""
    from tiemchung.config import Settings
    from tiemchung.demo import build_demo
    from tiemchung.installation import initialise

    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=directory, database_url=f"sqlite:///{directory / 'tiemchung.db'}")
    initialise(settings)
    t0 = time.perf_counter()
    summary = build_demo(settings)
    return {
        "counts": summary["counts"],
        "reused": summary["reused"],
        "build_s": round(time.perf_counter() - t0, 1),
        "users": {what.split(" ")[0]: name for name, what in summary["users"]},
    }


def unpack(commit: str, into: Path) -> str:
    """``src/`` of ``commit`` under ``into``; returns the full hash."""
    full = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", commit], capture_output=True, text=True, check=True
    ).stdout.strip()
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", full, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    return full


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(directory: Path, src: Path | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``tiemchung serve`` over ``directory``; ``src`` first on the path (the "before" code)."""
    port = _port()
    env = dict(
        os.environ,
        TIEMCHUNG_DATA_DIR=str(directory),
        TIEMCHUNG_DATABASE_URL=f"sqlite:///{directory / 'tiemchung.db'}",
        TIEMCHUNG_STATS_MAX_AGE_SECONDS="1000000",  # one snapshot for the whole run
    )
    if src is not None:
        env["PYTHONPATH"] = str(src)
    # before issue 15 the CLI was one module, tiemchung/cli.py; since, a package with main.py
    cli = "tiemchung.cli.main"
    if src is not None and not (src / "tiemchung" / "cli" / "main.py").exists():
        cli = "tiemchung.cli"
    cmd = [sys.executable, "-m", cli, "serve", "--host", "127.0.0.1"]
    with log.open("wb") as fh:
        proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=fh, stderr=fh)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(log.read_text())


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_load_state("load")


def warm(page: Any, base: str, path: str) -> None:
    """Load until the figures are there (the first request builds the snapshot: 503)."""
    for _ in range(60):
        r = page.goto(base + path, wait_until="load")
        if r is not None and r.status == 200:
            return
        if r is None or r.status != 503:
            raise RuntimeError(f"{base}{path}: HTTP {r.status if r else '?'}")
        time.sleep(2)
    raise RuntimeError(f"{base}{path}: no figures")


def summarise(loads: list[dict[str, float]]) -> dict[str, Any]:
    def p90(xs: list[float]) -> float:
        return sorted(xs)[max(0, round(0.9 * len(xs)) - 1)]

    out: dict[str, Any] = {"n": len(loads), "html_bytes": int(loads[0]["bytes"])}
    for key in ("load", "dcl", "ttfb", "response"):
        xs = [x[key] for x in loads]
        out[f"{key}_ms_median"] = round(statistics.median(xs), 1)
        out[f"{key}_ms_p90"] = round(p90(xs), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tiemchung-dashpage")
    ap.add_argument("--loads", type=int, default=9)
    ap.add_argument("--before", default=BEFORE, help="commit to compare with ('' for none)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from tiemchung.demo import DEMO_PASSWORD

    demo = build(args.dir)
    after = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True
        ).stdout.strip()
    )
    versions: dict[str, dict[str, Any]] = {"after": {"commit": after, "uncommitted": dirty}}
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.before:
            versions["before"] = {"commit": unpack(args.before, Path(tmp))}
        for name in versions:
            src = Path(tmp) / "src" if name == "before" else None
            proc, base = serve(args.dir, src, Path(tmp) / f"{name}.log")
            procs.append(proc)
            versions[name]["base"] = base
        try:
            results = measure(versions, demo["users"], DEMO_PASSWORD, args.loads, sync_playwright)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    for v in versions.values():
        v.pop("base")
    inputs = {
        "demo": {k: demo[k] for k in ("counts", "reused", "build_s")},
        "pages": {k: v[1] for k, v in PAGES.items()},
        "loads_per_page": args.loads,
        "versions": versions,
        "viewport": "1366x900",
        "browser": CHROMIUM,
    }
    for page_name, by_version in results.items():
        line = ", ".join(
            f"{v}: load {r['load_ms_median']} ms (p90 {r['load_ms_p90']}, "
            f"first byte {r['ttfb_ms_median']}, DOM ready {r['dcl_ms_median']}), "
            f"{r['html_bytes'] // 1024} KB"
            for v, r in by_version.items()
        )
        print(f"{page_name}: {line}")
    if not args.no_write:
        path = write_result(
            "dashboard_page", inputs=inputs, results=results, packages=["playwright", "duckdb"]
        )
        print(f"→ {path}")


def measure(
    versions: dict[str, dict[str, Any]],
    users: dict[str, str],
    password: str,
    loads: int,
    sync_playwright: Any,
) -> dict[str, dict[str, Any]]:
    """Navigation timings per page and version, the versions interleaved load by load."""
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        p: {v: [] for v in versions} for p in PAGES
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            for page_name, (role, path) in PAGES.items():
                tabs = {}
                for v, info in versions.items():
                    ctx = browser.new_context(
                        viewport={"width": 1366, "height": 900}, locale="vi-VN"
                    )
                    tab = ctx.new_page()
                    sign_in(tab, info["base"], users[role], password)
                    warm(tab, info["base"], path.format(day=COLD_FROM - timedelta(days=1)))
                    tabs[v] = tab
                for i in range(loads):
                    url = path.format(day=COLD_FROM + timedelta(days=i))
                    for v, tab in tabs.items():
                        tab.goto(versions[v]["base"] + url, wait_until="load")
                        samples[page_name][v].append(tab.evaluate(NAV))
                for tab in tabs.values():
                    tab.context.close()
        finally:
            browser.close()
    return {p: {v: summarise(xs) for v, xs in by.items()} for p, by in samples.items()}


if __name__ == "__main__":
    main()
