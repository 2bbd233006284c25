"""Making a deployment ready (`tiemchung init`) and saying whether it is (`tiemchung doctor`).

Kept out of the command line so that the demo, the tests and the benchmarks prepare a database
exactly as an operator's ``tiemchung init`` does, and so that a future admin page can show the
same checks as ``doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, text

from tiemchung.certificates.keys import KeyStore
from tiemchung.config import Settings
from tiemchung.registry.catalog.places import load_admin_units
from tiemchung.registry.catalog.products import load_products
from tiemchung.registry.models import AdminUnit, Product
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.store import migrate
from tiemchung.store.db import make_engine, make_sessionmaker


def initialise(settings: Settings) -> dict[str, object]:
    """Create keys, migrate to head, load administrative units, the vaccine catalogue and the
    priority groups; safe to run again (a product or group already stored keeps what an
    operator edited)."""
    settings.token_secret(create=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as s:
            units = s.scalar(select(func.count()).select_from(AdminUnit)) or 0
            if units == 0:
                units = load_admin_units(s)
            added = load_products(s)
            groups_added = load_priority_groups(s)
            products = s.scalar(select(func.count()).select_from(Product)) or 0
            s.commit()
        return {
            "revision": migrate.current_revision(engine),
            "admin_units": units,
            "products": products,
            "products_added": added,
            "priority_groups_added": groups_added,
        }
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report. ``warn`` does not fail the check: a platform may run
    without, say, certificate signing keys."""

    state: Literal["ok", "fail", "warn"]
    message: str


def check(settings: Settings) -> list[Finding]:
    """Whether the database answers and is migrated to head, whether the token key exists and
    is private, and whether certificates can be signed; in that order."""
    found = _check_database(settings)
    key = settings.secret_key_path
    if key.exists():
        mode = key.stat().st_mode & 0o777
        if mode & 0o077:
            found.append(Finding("fail", f"{key} is readable by others (mode {mode:o}); chmod 600"))
        else:
            found.append(Finding("ok", f"token key present ({key})"))
    else:
        found.append(Finding("fail", f"token key missing at {key}: run `tiemchung init`"))
    store = KeyStore.for_settings(settings)
    if store.exists():
        found.append(Finding("ok", f"certificate signing keys present ({store.folder})"))
    else:
        found.append(
            Finding(
                "warn",
                f"no certificate signing keys in {store.folder}: certificates cannot be "
                "printed; run `tiemchung keys init`",
            )
        )
    return found


def _check_database(settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        found.append(Finding("ok", f"database reachable ({engine.url.get_backend_name()})"))
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current == head:
            found.append(Finding("ok", f"migrations current ({head})"))
        else:
            found.append(
                Finding("fail", f"migrations at {current}, head is {head}: run `tiemchung init`")
            )
    except Exception as exc:  # whatever stops the connection is the finding
        found.append(Finding("fail", f"database unreachable: {type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()
    return found
