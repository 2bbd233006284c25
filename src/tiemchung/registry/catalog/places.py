"""Administrative units in the registry, loaded from the identity toolkit's tables."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from tiemchung.identity import iter_admin_units
from tiemchung.registry.models import AdminUnit


def load_admin_units(session: Session) -> int:
    """Replace both schemes (2021 three-level, 2025 two-level); returns the rows written."""
    session.execute(delete(AdminUnit))
    rows = [
        {
            "scheme": u.scheme,
            "code": u.code,
            "level": u.level,
            "name": u.name,
            "parent_code": u.parent_code,
            "province_code": u.province_code,
        }
        for scheme in ("2021", "2025")
        for u in iter_admin_units(scheme)
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(AdminUnit), rows[start : start + 5000])
    return len(rows)
