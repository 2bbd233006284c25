"""Fixtures for certificates over a real database (SQLite and PostgreSQL): signing keys in the
test's data folder, and verified doses recorded through the registry's own dose path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.factories import submission, world
from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.registry.doses.record import DoseResult, record_doses
from tiemchung.registry.scope import Actor
from tiemchung.server import create_app

#: Keys made before every time the tests issue at (2026-03-01) and valid past the present.
KEYS_MADE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def keys(settings: Settings) -> KeyStore:
    store = KeyStore.for_data_dir(settings.data_dir)
    store.init(now=KEYS_MADE)
    return store


def record(platform: Platform, *subs) -> list[DoseResult]:  # type: ignore[no-untyped-def]
    actor = Actor.system("tests")
    results = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, actor, list(subs), today=date(2026, 1, 1))
    )
    for r in results:
        assert r.error is None, r.error
    return results


@pytest.fixture
def vaccinated(platform: Platform) -> dict[str, list[DoseResult]]:
    """An: Pfizer 1 and 2 (verified); Bình: dose 1 typed with a wrong name (unverified);
    Dũng: AZ 1, 2 and a Moderna booster (verified)."""
    w = world()
    return {
        "an": record(
            platform,
            submission("an"),
            submission("an", dose_number=2, dose_date=date(2021, 10, 22)),
        ),
        "binh": record(platform, submission("binh", full_name="Tran Thi Binh")),
        "dung": record(
            platform,
            submission("dung", product_code="AZ", lot_number="AZ-OK", site_id=w.sites["b1"]),
            submission(
                "dung",
                product_code="AZ",
                lot_number="AZ-OK",
                dose_number=2,
                dose_date=date(2021, 11, 5),
                site_id=w.sites["b1"],
            ),
            submission(
                "dung",
                product_code="MODERNA",
                lot_number="MO-OK",
                dose_number=3,
                dose_date=date(2022, 3, 1),
                site_id=w.sites["b1"],
            ),
        ),
    }


@pytest.fixture
def api(platform: Platform) -> Iterator[Api]:
    with TestClient(create_app(platform)) as client:
        yield Api(client)
