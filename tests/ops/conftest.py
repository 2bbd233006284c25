"""Fixtures for backups: an installation with people, doses, keys and a certificate issued
(through the registry's own services), a passphrase file, and a FRESH installation (another
data folder, another database of the same kind) to restore into."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.certificates.conftest import record
from tests.factories import submission, world
from tiemchung.certificates.keys import KeyStore
from tiemchung.certificates.service import Issued, issue_certificate
from tiemchung.config import Settings
from tiemchung.core import Platform
from tiemchung.installation import initialise
from tiemchung.registry.scope import Actor

KEYS_MADE = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
CENTRAL = Actor.system("tests")
_fresh = itertools.count()


@pytest.fixture
def secret() -> bytes:
    return b"mot-mat-khau-dai-cho-ban-sao-luu"


@pytest.fixture
def installed(platform: Platform, settings: Settings) -> Issued:
    """Doses for An (2), Bình (1) and Dũng (3) recorded by the dose path, signing keys, and
    An's certificate issued; returns the certificate."""
    w = world()
    record(
        platform,
        submission("an"),
        submission("an", dose_number=2, dose_date=date(2021, 10, 22)),
        submission("binh"),
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
    )
    keys = KeyStore.for_settings(settings)
    keys.init(now=KEYS_MADE)
    return platform.writer.run(lambda s: issue_certificate(s, CENTRAL, "P-AN", keys=keys, now=NOW))


@pytest.fixture
def fresh(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Settings]:
    """Makes a new installation as an operator's `tiemchung init` does: its own data folder and
    an empty database of the test's kind, migrated and loaded."""

    def make() -> Settings:
        n = next(_fresh)
        folder = tmp_path / f"fresh-{n}"
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'tiemchung.db'}"
        else:
            url = request.getfixturevalue("pg_server").create_database(f"fresh_{n}_{id(folder)}")
        s = Settings(data_dir=folder / "data", database_url=url)
        initialise(s)
        return s

    return make
