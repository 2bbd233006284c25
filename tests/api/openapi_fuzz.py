"""Schema-driven fuzzing of the whole API with schemathesis (4.x), shared by the test and bench.

Every operation of ``/api/v1/openapi.json`` gets requests generated from its own schema —
valid ones (positive) and ones that break it (negative) — sent in-process to the ASGI app as
each given user, and every answer is checked against the same document: no 5xx, a status
the operation declares, the declared media type, and a body that matches the declared schema.
A failure is kept (shrunk by Hypothesis to a small example) rather than raised, so one run
reports every operation that breaks.

The world it runs in is the tests' small invented one (tests/factories.py) plus a few doses,
worklist items and a ticket, so that reads and decisions find something to answer with.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import PASSWORD, payload, review_item, world
from tiemchung.core import Platform

OPENAPI = "/api/v1/openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Finding:
    operation: str
    user: str
    mode: str
    error: str


@dataclass
class Report:
    operations: int = 0
    runs: int = 0
    requests: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{f.operation} as {f.user} ({f.mode}):\n{f.error}" for f in self.findings]
        return "\n\n".join(lines)


def seed_activity(app_client: Any, platform: Platform) -> None:
    """Doses (verified and not), worklist items in two provinces and a citizen's ticket, made
    through the API itself so that they are what a running server would hold."""

    def token(user: str) -> dict[str, str]:
        r = app_client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    central = token("central")
    for person in ("an", "binh", None):
        r = app_client.post("/api/v1/doses", headers=central, json=payload(person))
        assert r.status_code == 201, r.text
    wards = world().wards
    odd = payload(None, full_name="Nguyễn Văn Ân", national_id="001085123457", dob="1985-04-12")
    odd["ward_code"] = wards["a1"]
    r = app_client.post("/api/v1/doses", headers=central, json=odd)
    assert r.status_code == 201, r.text
    dose_id = int(r.json()["id"])
    platform.writer.run(
        lambda s: review_item(s, dose_id, [("an", 0.9, {"national_id": "001085123456"})])
    )
    doses = app_client.get("/api/v1/doses", headers=token("citizen_an")).json()["items"]
    r = app_client.post(
        "/api/v1/tickets",
        headers=token("citizen_an"),
        json={"dose_id": doses[0]["id"], "field": "dob", "proposed_value": "13/04/1985"},
    )
    assert r.status_code == 201, r.text


def run_on(platform: Platform, users: Sequence[str], **kw: Any) -> Report:
    """Signing keys, the seeded activity, a token per user, then :func:`fuzz` over the app.
    Waits at the end for a statistics build that ``POST /stats:refresh`` may have started
    (a DuckDB thread still running at interpreter exit aborts the process)."""
    from fastapi.testclient import TestClient

    from tiemchung.certificates.keys import KeyStore
    from tiemchung.server import create_app
    from tiemchung.stats.service import stats_for, wait_refreshed

    KeyStore.for_data_dir(platform.settings.data_dir).init()
    app = create_app(platform)
    with TestClient(app) as client:
        seed_activity(client, platform)
        tokens = {u: bearer(client, u) for u in users}
    try:
        return fuzz(app, tokens, **kw)
    finally:
        wait_refreshed(stats_for(platform))


def bearer(app_client: Any, user: str) -> dict[str, str]:
    r = app_client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def fuzz(
    app: Any,
    users: dict[str, dict[str, str]],
    *,
    max_examples: int,
    modes: Sequence[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    only: Iterable[str] | None = None,
) -> Report:
    """Fuzz every operation (or those whose label contains one of ``only``) as each user."""
    schema = schemathesis.openapi.from_asgi(OPENAPI, app)
    report = Report()
    started = time.perf_counter()
    wanted = list(only or [])
    for result in schema.get_all_operations():
        op = result.ok()
        if wanted and not any(w in op.label for w in wanted):
            continue
        report.operations += 1
        for user, headers in users.items():
            for mode in modes:
                report.runs += 1
                _run_one(op, user, headers, mode, max_examples, report)
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def _run_one(
    op: Any,
    user: str,
    headers: dict[str, str],
    mode: GenerationMode,
    max_examples: int,
    report: Report,
) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure in CI is a failure here
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        report.requests += 1
        # a fresh client UUID per case: a generated one is often the same few bytes
        if isinstance(case.body, dict) and "client_uuid" in case.body:
            case.body["client_uuid"] = str(uuid.uuid4())
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # negative mode on an operation with nothing to break (no inputs)
        report.skipped.append(f"{op.label} as {user} ({mode.value})")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a check's FailureGroup (a BaseExceptionGroup), or an app error
        report.findings.append(Finding(op.label, user, mode.value, str(exc)[:3000]))
