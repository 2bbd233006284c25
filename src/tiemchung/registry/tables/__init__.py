"""Stored tables beyond ``registry/models.py``, one module per capability.

``models.py`` holds the core (persons, sites, doses, users, the audit log); a capability added
later keeps its tables in a module here so that no file grows past the house's 600 lines. They
share ``models.Base`` and its metadata, so the migrations (``store/migrations/env.py``) and the
schema check (``tests/store/test_migrations.py``) see every table once this package is
imported — which is why it imports each of its modules.
"""

from __future__ import annotations

from tiemchung.registry.tables import (
    changes,
    exports,
    invitations,
    messages,
    orgusers,
    register_pull,
    registrations,
    templates,
    throttles,
    webhooks,
)

__all__ = [
    "changes",
    "exports",
    "invitations",
    "messages",
    "orgusers",
    "register_pull",
    "registrations",
    "templates",
    "throttles",
    "webhooks",
]
