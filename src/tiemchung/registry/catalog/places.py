"""Administrative units in the registry, loaded from the identity toolkit's tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tiemchung.identity import iter_admin_units
from tiemchung.identity.names import fold_name
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


@dataclass(frozen=True)
class WardHit:
    """A 2021 ward found by name: its code (what ``sites add --ward`` takes) and where it is."""

    code: str
    name: str
    district: str
    province: str
    province_code: str


def find_wards(
    session: Session, query: str, *, province_code: str | None = None, limit: int = 20
) -> list[WardHit]:
    """The 2021 wards where each word of ``query`` begins a word of the ward's, district's or
    province's name, accents and case aside ("hung dung vinh" finds Phường Hưng Dũng, Thành
    phố Vinh): a new installation's operator knows the commune's name, not its GSO code.

    Whole words before beginnings ("phu" is Phú before it is the start of "Phường"), the
    ward's own name before its district's; a code typed as the query finds that ward. At most
    ``limit``."""
    stmt = select(AdminUnit.code, AdminUnit.level, AdminUnit.name, AdminUnit.parent_code).where(
        AdminUnit.scheme == "2021"
    )
    if province_code is not None:
        stmt = stmt.where(AdminUnit.province_code == province_code)
    units = session.execute(stmt).all()
    by_code = {u.code: u for u in units}
    words = fold_name(query).split()
    ranked: list[tuple[int, str, WardHit]] = []
    for u in units:
        if u.level != "ward":
            continue
        district = by_code.get(u.parent_code or "")
        province = by_code.get(district.parent_code or "") if district else None
        names = [u.name, district.name if district else "", province.name if province else ""]
        own = fold_name(u.name).split()
        every = fold_name(" ".join(names)).split()
        if query.strip() == u.code:
            rank = 0
        elif not words:
            continue
        elif all(w in own for w in words):
            rank = 1
        elif all(w in every for w in words):
            rank = 2
        elif all(_begins_a_word(w, own) for w in words):
            rank = 3
        elif all(_begins_a_word(w, every) for w in words):
            rank = 4
        else:
            continue
        hit = WardHit(u.code, u.name, names[1], names[2], province.code if province else "")
        ranked.append((rank, u.code, hit))
    return [hit for _, _, hit in sorted(ranked)[:limit]]


def _begins_a_word(prefix: str, words: list[str]) -> bool:
    """``dung`` finds Dũng, not Trung: a typed word is the start of a word of the name."""
    return any(w.startswith(prefix) for w in words)
