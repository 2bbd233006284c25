"""``/metrics`` (issue 20 point 3): parsed with prometheus_client's own parser, the counters
move by exactly the requests made, labelled by route template (never an ID); the writer's
group commits and the outbox are measured; only allowed callers may scrape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api
from tests.factories import payload
from tiemchung.core import Platform
from tiemchung.registry.changes import webhooks
from tiemchung.registry.changes.log import Change, append
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.changes import ApiClient
from tiemchung.registry.tables.exports import ExportJob
from tiemchung.registry.tables.webhooks import WebhookDeadLetter
from tiemchung.server import create_app

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def local(platform: Platform) -> Iterator[Api]:
    """The app as a scraper on the same machine sees it (loopback)."""
    with TestClient(create_app(platform), client=("127.0.0.1", 40000)) as c:
        yield Api(c)


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_exactly_by_route_template(local: Api) -> None:
    local.headers("citizen_an")  # sign in before the first scrape
    before = scrape(local.client)
    for _ in range(3):
        assert local.get("/persons/P-AN", "citizen_an").status_code == 200
    assert local.get("/persons/P-NOBODY", "citizen_an").status_code in (403, 404)
    for _ in range(2):
        assert local.client.get("/api/v1/health/live").status_code == 200
    local.client.get("/no/such/page/P-AN")
    after = scrape(local.client)

    route = "/api/v1/persons/{person_id}"
    moved = value(after, "tiemchung_http_requests_total", method="GET", route=route, status="200")
    assert (
        moved
        - value(before, "tiemchung_http_requests_total", method="GET", route=route, status="200")
        == 3
    )
    hist = "tiemchung_http_request_duration_seconds_count"
    assert (
        value(after, hist, method="GET", route=route)
        - value(before, hist, method="GET", route=route)
        == 4
    )  # three answered 200, one refused
    live = dict(method="GET", route="/api/v1/health/live", status="200")
    assert (
        value(after, "tiemchung_http_requests_total", **live)
        - value(before, "tiemchung_http_requests_total", **live)
        == 2
    )
    unmatched = [k for k in after if ("route", "unmatched") in k[1]]
    assert unmatched, "a path no route matches is counted as unmatched"
    # no label anywhere carries a raw path or an ID
    labels = {v for _, pairs in after for _, v in pairs}
    assert not [v for v in labels if "P-AN" in v or "P-NOBODY" in v or "/no/such" in v]
    assert value(after, "tiemchung_http_requests_in_flight") == 1  # the scrape itself


def test_group_commits_and_the_outbox_are_measured(local: Api, platform: Platform) -> None:
    with platform.sessions() as s:
        for n in range(2):
            enqueue(s, phone="0912345678", body=f"nhắc lịch {n}", kind="reminder")
        s.commit()
    before = scrape(local.client)
    assert value(before, "tiemchung_sms_outbox_messages", status="queued") == 2
    assert value(before, "tiemchung_sms_outbox_messages", status="failed") == 0
    assert value(before, "tiemchung_export_jobs", status="running") == 0
    assert ("tiemchung_webhook_deliveries", (("state", "dead"),)) in before
    assert local.post("/doses", "site_a1", json=payload("an")).status_code == 201
    after = scrape(local.client)
    batches = value(after, "tiemchung_writer_batch_size_count") - value(
        before, "tiemchung_writer_batch_size_count"
    )
    written = value(after, "tiemchung_writer_batch_size_sum") - value(
        before, "tiemchung_writer_batch_size_sum"
    )
    assert batches >= 1 and written >= 1  # the dose's write went through a group commit
    assert ("tiemchung_writer_queue_depth", ()) in after


def test_only_allowed_callers_may_scrape(platform: Platform) -> None:
    app = create_app(platform)
    with TestClient(app, client=("10.1.2.3", 40000)) as c:
        r = c.get("/metrics")
        assert r.status_code == 403 and "TIEMCHUNG_METRICS_ALLOW" in r.text
        assert "tiemchung_http" not in r.text
        platform.settings.metrics_allow = "192.0.2.0/24, 10.0.0.0/8"
        assert c.get("/metrics").status_code == 200
        platform.settings.metrics_allow = ""
        platform.settings.metrics_token = "s3cret-scrape"
        r = c.get("/metrics")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        bad = c.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401
        ok = c.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert ok.status_code == 200 and "tiemchung_http_requests_total" in ok.text
    with TestClient(app, client=("::1", 40000)) as c:  # loopback needs nothing
        assert c.get("/metrics").status_code == 200


def test_export_jobs_and_webhook_backlog_are_gauged(local: Api, platform: Platform) -> None:
    with platform.sessions() as s:
        s.add(ApiClient(client_id="app", name="A", secret_hash="x", scopes=[], role="central"))
        s.flush()
        sub = webhooks.add_subscription(s, Actor.system("t"), "app", "http://127.0.0.1:9/h")
        append(s.connection(), [Change("Immunization", "7", "created", "api")])
        s.add(
            WebhookDeadLetter(
                subscription_id=sub.subscription.id, first_seq=1, last_seq=1, events=[], attempts=8
            )
        )
        for n in range(2):
            s.add(
                ExportJob(
                    status="failed",
                    request=f"/fhir/R4/$export?n={n}",
                    types=["Patient"],
                    folder="",
                    username="central",
                    role="central",
                )
            )
        s.commit()
    got = scrape(local.client)
    assert value(got, "tiemchung_export_jobs", status="failed") == 2
    assert value(got, "tiemchung_export_jobs", status="queued") == 0
    assert value(got, "tiemchung_webhook_deliveries", state="pending") == 1  # behind the log
    assert value(got, "tiemchung_webhook_deliveries", state="retrying") == 0
    assert value(got, "tiemchung_webhook_deliveries", state="dead") == 1
