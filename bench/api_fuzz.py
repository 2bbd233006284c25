"""schemathesis over the whole OpenAPI on both backends, as a central and a site user.

Writes bench/results/api_fuzz.json: per backend the operations, requests, seconds and every
finding (server error, undeclared status or media type, body outside its schema). The suite's
tests/api/test_openapi_fuzz.py runs the same harness (tests/api/openapi_fuzz.py), smaller and
on SQLite only.

    .venv/bin/python bench/api_fuzz.py [examples per operation, user and mode: 100]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.openapi_fuzz import CHECKS, run_on
from tests.factories import build_seeded_database
from tests.pgserver import PostgresServer

from bench._common import write_result
from tiemchung.config import Settings
from tiemchung.core import Platform

USERS = ("central", "site_a1")


def run(url: str, data_dir: Path, examples: int) -> dict[str, object]:
    build_seeded_database(url)
    settings = Settings(data_dir=data_dir, database_url=url)
    settings.token_secret(create=True)
    with Platform(settings) as platform:
        report = run_on(platform, USERS, max_examples=examples)
    return asdict(report)


def main() -> None:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    tmp = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
    results: dict[str, object] = {}
    try:
        results["sqlite"] = run(f"sqlite:///{tmp / 'fuzz.db'}", tmp / "sqlite", examples)
        server = PostgresServer().start()
        try:
            results["postgresql"] = run(server.create_database("fuzz"), tmp / "pg", examples)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    findings = sum(len(r["findings"]) for r in results.values())  # type: ignore[arg-type,index]
    write_result(
        "api_fuzz",
        inputs={
            "examples_per_operation_user_mode": examples,
            "modes": ["positive", "negative"],
            "users": list(USERS),
            "checks": [c.__name__ for c in CHECKS],
        },
        results={"findings": findings, "backends": results},
        packages=["schemathesis", "hypothesis", "fastapi"],
    )
    print(f"{findings} findings")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
