"""The stored work an operator watches, counted at scrape time: the SMS outbox, the bulk
export jobs, the webhook deliveries.

These are the same for every server process (they are rows, not process state), so they are
not multiprocess metrics: the process that answers a scrape counts them, at most once every
``ttl`` seconds (a Prometheus server scrapes every 15 s or so; two scrapers or a reload must
not multiply the queries). Each count is cheap on purpose: the outbox is counted only in the
statuses that mean work not done (``queued``, ``sending``) or given up (``failed``) by its
``(status, …)`` index, never the millions sent; export jobs and webhook subscriptions are
small tables.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tiemchung.core import Platform
from tiemchung.registry.tables.changes import ChangeEntry
from tiemchung.registry.tables.exports import ExportJob
from tiemchung.registry.tables.messages import OutboxMessage
from tiemchung.registry.tables.webhooks import WebhookDeadLetter, WebhookSubscription

#: The outbox statuses counted (see the module's docstring for why not all of them).
OUTBOX_STATUSES = ("queued", "sending", "failed")
EXPORT_STATUSES = ("queued", "running", "done", "failed")


def stored_counts(platform: Platform) -> dict[str, dict[str, int]]:
    """The counts behind the gauges, one read transaction."""
    with platform.sessions() as session:
        outbox = {
            status: int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == status)
                )
                or 0
            )
            for status in OUTBOX_STATUSES
        }
        exports = dict.fromkeys(EXPORT_STATUSES, 0)
        for status, n in session.execute(
            select(ExportJob.status, func.count()).group_by(ExportJob.status)
        ):
            exports[status] = int(n)
        head = session.scalar(select(func.max(ChangeEntry.seq))) or 0
        active = WebhookSubscription.status == "active"
        pending = session.scalar(
            select(func.count())
            .select_from(WebhookSubscription)
            .where(active, WebhookSubscription.cursor < head)
        )
        retrying = session.scalar(
            select(func.count())
            .select_from(WebhookSubscription)
            .where(active, WebhookSubscription.attempts > 0)
        )
        dead = session.scalar(
            select(func.count())
            .select_from(WebhookDeadLetter)
            .where(WebhookDeadLetter.status == "dead")
        )
    webhooks = {"pending": int(pending or 0), "retrying": int(retrying or 0)}
    webhooks["dead"] = int(dead or 0)
    return {"outbox": outbox, "exports": exports, "webhooks": webhooks}


class StoredGauges(Collector):
    """A Prometheus collector over :func:`stored_counts`, cached ``ttl`` seconds."""

    def __init__(self, platform: Platform, ttl: float = 5.0) -> None:
        self._platform = platform
        self._ttl = ttl
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._counts: dict[str, dict[str, int]] = {}

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            if time.monotonic() - self._at >= self._ttl:
                self._counts = stored_counts(self._platform)
                self._at = time.monotonic()
            return self._counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.counts()
        outbox = GaugeMetricFamily(
            "tiemchung_sms_outbox_messages",
            "SMS outbox messages by status (queued, sending, failed)",
            labels=["status"],
        )
        for status, n in counts["outbox"].items():
            outbox.add_metric([status], n)
        yield outbox
        exports = GaugeMetricFamily(
            "tiemchung_export_jobs", "Bulk export ($export) jobs by status", labels=["status"]
        )
        for status, n in counts["exports"].items():
            exports.add_metric([status], n)
        yield exports
        hooks = GaugeMetricFamily(
            "tiemchung_webhook_deliveries",
            "Webhook deliveries: active subscriptions behind the change log (pending), "
            "retrying a batch (retrying); dead letters not replayed (dead)",
            labels=["state"],
        )
        for state, n in counts["webhooks"].items():
            hooks.add_metric([state], n)
        yield hooks
