"""Administrative units (GSO codes): look-up by code and by loose name, in two schemes.

* ``"2021"`` — the three-level units (province / district / ward) in force until 30 June 2025,
  which 2021–22 data uses: 63 provinces, ~700 districts, ~10,600 wards including units merged
  away after 2021 (``retired=True``). Shipped in ``data/admin_units_2021.csv.gz``.
* ``"2025"`` — the two-level units (34 provinces / ~3,300 wards) from 1 July 2025, read from the
  ``vietnam-provinces`` package.

The same number can mean different provinces in the two schemes, so every look-up names its
scheme. Names are matched loosely: case, diacritics, spacing, punctuation, abbreviations of the
unit type (``TP.``, ``Q.``, ``P.``, ``H.``, ``TX.``, ``TT.``, ``X.``) and a few common short
forms (``HCM``, ``Sài Gòn``, ``HN``, ``Huế``, ``BRVT``) do not matter.

>>> find_province("Tp HCM", scheme="2021").code
'79'
>>> w = find_ward("P. Bến Nghé", scheme="2021", district="Q.1")
>>> w.name, w.province_code
('Phường Bến Nghé', '79')
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final, Literal

from .errors import IdentityError
from .names import fold_name

Scheme = Literal["2021", "2025"]
Level = Literal["province", "district", "ward"]

_TYPES: Final = ("Thành phố", "Tỉnh", "Quận", "Huyện", "Thị xã", "Phường", "Xã", "Thị trấn",
                 "Đặc khu")
_TYPE_PREFIX: Final = re.compile(r"^(?:" + "|".join(_TYPES) + r")\s+")
# Folded type words and abbreviations stripped from the front of a query.
_TYPE_WORDS: Final = ("thanh pho", "tinh", "quan", "huyen", "thi xa", "phuong", "xa",
                      "thi tran", "dac khu", "tp", "q", "h", "tx", "p", "x", "tt", "t")
_ALIASES: Final = {
    "hcm": "hochiminh", "tphcm": "hochiminh", "saigon": "hochiminh", "sg": "hochiminh",
    "hochiminhcity": "hochiminh", "hn": "hanoi", "hue": "thuathienhue",
    "brvt": "bariavungtau", "vungtau": "bariavungtau", "daclac": "daklak",
    "dacnong": "daknong",
}
_PUNCT: Final = re.compile(r"[.,;:/\\_()'’\"-]+")
_WIDTH: Final = {"province": 2, "district": 3, "ward": 5}


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """One administrative unit.

    ``code`` is the GSO code zero-padded (2 digits province, 3 district, 5 ward); ``name`` the
    official name with its type (``Phường Bến Nghé``); ``parent_code`` the province of a
    district, the district of a 2021 ward, the province of a 2025 ward, ``None`` for a
    province; ``retired`` marks a 2021-scheme unit merged away before July 2025.
    """

    scheme: Scheme
    level: Level
    code: str
    name: str
    parent_code: str | None
    province_code: str
    retired: bool = False
    former_names: tuple[str, ...] = ()

    @property
    def short_name(self) -> str:
        """Name without its type: ``Bến Nghé``, ``Hồ Chí Minh``, ``1`` (for ``Quận 1``)."""
        return _TYPE_PREFIX.sub("", self.name)

    @property
    def division_type(self) -> str:
        """Type word in lower case: ``phường``, ``xã``, ``quận``, ``thành phố``, ..."""
        m = _TYPE_PREFIX.match(self.name)
        return m.group(0).strip().lower() if m else ""


def _tokens(text: str) -> list[str]:
    return _PUNCT.sub(" ", fold_name(text)).split()


def _join(tokens: list[str], alias: bool) -> str:
    key = "".join(t.lstrip("0") or "0" if t.isdigit() else t for t in tokens)
    return _ALIASES.get(key, key) if alias else key


def _strip_type(tokens: list[str]) -> list[str]:
    for word in _TYPE_WORDS:
        parts = word.split()
        if tokens[:len(parts)] == parts and len(tokens) > len(parts):
            return tokens[len(parts):]
    return tokens


def name_keys(text: str, level: Level = "ward") -> tuple[str, ...]:
    """Match keys of a unit name or query: with the type word stripped, then without.

    Province short forms (``HCM``, ``Sài Gòn``, ``Huế``) apply at ``level="province"`` only.

    >>> name_keys("TP. Hồ Chí Minh", "province"), name_keys("Q.01")
    (('hochiminh', 'tphochiminh'), ('1', 'q1'))
    """
    toks = _tokens(text)
    if not toks:
        return ()
    alias = level == "province"
    short, full = _join(_strip_type(toks), alias), _join(toks, alias)
    return (short,) if short == full else (short, full)


class _Index:
    def __init__(self, units: list[AdminUnit]) -> None:
        self.units = units
        self.by_code: dict[tuple[str, str], AdminUnit] = {(u.level, u.code): u for u in units}
        self.by_key: dict[tuple[str, str], list[tuple[AdminUnit, bool]]] = defaultdict(list)
        for u in units:
            for i, name in enumerate((u.name, *u.former_names)):
                for key in name_keys(name, u.level):
                    entry = (u, i == 0)
                    bucket = self.by_key[(u.level, key)]
                    if all(e[0] is not u for e in bucket):
                        bucket.append(entry)


def _read_2021() -> list[AdminUnit]:
    raw = resources.files(__package__).joinpath("data/admin_units_2021.csv.gz").read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    return [AdminUnit("2021", r["level"], r["code"], r["name"],  # type: ignore[arg-type]
                      r["parent_code"] or None, r["province_code"], r["retired"] == "1",
                      tuple(filter(None, r["former_names"].split("|")))) for r in rows]


def _read_2025() -> list[AdminUnit]:
    spec = importlib.util.find_spec("vietnam_provinces")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        raise IdentityError("place_scheme", scheme="2025")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "nested-divisions.json"
    provinces: list[AdminUnit] = []
    wards: list[AdminUnit] = []
    for p in json.loads(path.read_text(encoding="utf-8")):
        pc = f"{p['code']:02d}"
        provinces.append(AdminUnit("2025", "province", pc, p["name"], None, pc))
        wards.extend(AdminUnit("2025", "ward", f"{w['code']:05d}", w["name"], pc, pc)
                     for w in p["wards"])
    return provinces + wards


def _index(scheme: str) -> _Index:
    # checked before the cache: an unhashable scheme ([]) would be a TypeError there
    if not isinstance(scheme, str) or scheme not in ("2021", "2025"):
        raise IdentityError("place_scheme", scheme=scheme)
    return _built_index(scheme)


@cache
def _built_index(scheme: str) -> _Index:
    return _Index(_read_2021() if scheme == "2021" else _read_2025())


def iter_admin_units(scheme: Scheme) -> Iterator[AdminUnit]:
    """Every unit of ``scheme``: provinces first, then districts (2021 only), then wards.

    This is what the registry loads into its administrative-unit table.

    Raises :class:`IdentityError` (``place_scheme``) for a scheme other than ``"2021"`` or
    ``"2025"``.
    """
    return iter(_index(scheme).units)


def _by_code(code: str | int, level: Level, scheme: Scheme) -> AdminUnit | None:
    if isinstance(code, int) and not 0 <= code < 10**8:  # str() of a huge int would fail
        raise IdentityError("place_code", value="…")
    text = str(code).strip()
    if isinstance(code, bool) or not (text.isdigit() and text.isascii()) or len(text) > 8:
        raise IdentityError("place_code", value=code)
    return _index(scheme).by_code.get((level, str(int(text)).zfill(_WIDTH[level])))


def province_by_code(code: str | int, *, scheme: Scheme) -> AdminUnit | None:
    """Province by GSO code (``"79"``, ``"079"`` or ``79``), ``None`` if there is none.

    Raises :class:`IdentityError`: ``place_code`` (not up to 8 ASCII digits),
    ``place_scheme``.
    """
    return _by_code(code, "province", scheme)


def district_by_code(code: str | int) -> AdminUnit | None:
    """District by GSO code (2021 scheme; the 2025 scheme has no districts).

    Raises :class:`IdentityError` (``place_code``) for anything but up to 8 ASCII digits.
    """
    return _by_code(code, "district", "2021")


def ward_by_code(code: str | int, *, scheme: Scheme) -> AdminUnit | None:
    """Ward/commune by GSO code, ``None`` if there is none.

    Raises :class:`IdentityError`: ``place_code`` (not up to 8 ASCII digits),
    ``place_scheme``.
    """
    return _by_code(code, "ward", scheme)


def search_units(text: str, *, scheme: Scheme, level: Level,
                 within: AdminUnit | None = None) -> list[AdminUnit]:
    """Every unit of ``level`` whose name (current or former) matches ``text`` loosely,
    optionally inside ``within`` (a province, or a district for 2021 wards).

    Raises :class:`IdentityError`: ``not_text``, ``place_scheme``, ``place_level`` (a level
    other than province, district, ward; districts in the 2025 scheme).
    """
    if not isinstance(level, str) or level not in _WIDTH or (
            scheme == "2025" and level == "district"):
        raise IdentityError("place_level", scheme=scheme, level=level)
    idx = _index(scheme)
    for key in name_keys(text, level):
        found = idx.by_key.get((level, key), [])
        if within is not None:
            found = [e for e in found if within.code in (e[0].parent_code, e[0].province_code)
                     and within.level != level]
        if found:
            current = [e for e in found if e[1]] or found
            active = [e for e in current if not e[0].retired] or current
            return [e[0] for e in active]
    return []


def _find(text: str, scheme: Scheme, level: Level, within: AdminUnit | None
          ) -> AdminUnit | None:
    found = search_units(text, scheme=scheme, level=level, within=within)
    if len(found) > 1:
        raise IdentityError("place_ambiguous", text=text,
                            codes=", ".join(u.code for u in found[:10]))
    return found[0] if found else None


def _resolve(value: AdminUnit | str | None, scheme: Scheme, level: Level,
             within: AdminUnit | None) -> AdminUnit | None:
    if value is None or isinstance(value, AdminUnit):
        return value
    return _find(value, scheme, level, within)


def find_province(text: str, *, scheme: Scheme) -> AdminUnit | None:
    """The province named by ``text`` (``Tp HCM``, ``Ha Noi``, ``Thừa Thiên - Huế``), or
    ``None``.

    Raises :class:`IdentityError`: ``place_ambiguous`` (several match), ``not_text``,
    ``place_scheme``.
    """
    return _find(text, scheme, "province", None)


def find_district(text: str, *, province: AdminUnit | str | None = None) -> AdminUnit | None:
    """The 2021-scheme district named by ``text`` (``Q.1``, ``Quận Ba Đình``), optionally
    within ``province`` (a unit or a name).

    Raises :class:`IdentityError`: ``place_ambiguous`` (several match, for ``text`` or for
    ``province``), ``not_text``.
    """
    prov = _resolve(province, "2021", "province", None)
    return _find(text, "2021", "district", prov)


def find_ward(text: str, *, scheme: Scheme, province: AdminUnit | str | None = None,
              district: AdminUnit | str | None = None) -> AdminUnit | None:
    """The ward/commune named by ``text`` (``P. Bến Nghé``), optionally within ``province``
    and (2021 scheme) ``district``, each a unit or a name. Ward names repeat across the
    country (``Phường 1``), so give the context.

    Raises :class:`IdentityError`: ``place_ambiguous`` (several match, for ``text`` or a
    context name), ``not_text``, ``place_scheme``, ``place_level`` (a district in the 2025
    scheme).
    """
    prov = _resolve(province, scheme, "province", None)
    if district is not None and scheme == "2025":
        raise IdentityError("place_level", scheme=scheme, level="district")
    dist = _resolve(district, scheme, "district", prov)
    return _find(text, scheme, "ward", dist or prov)


def ward_of_address(address: str, *, scheme: Scheme = "2021") -> AdminUnit | None:
    """The ward an address names, read from its right-hand end, or ``None``.

    A Vietnamese address runs from the house to the province, comma-separated (as printed on
    the chip card: ``Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Nghệ An``). The last part that
    names a province fixes the province; in the 2021 scheme the part before it is the district
    and the one before that the ward; an address without its district (or in the 2025 scheme)
    names the ward right before the province. Ward names repeat across the country, so a ward
    is only taken inside the province (and district) the address names; anything ambiguous or
    not found answers ``None`` rather than a guess.

    >>> ward_of_address("Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Nghệ An").name
    'Xã Nghĩa Mai'
    """
    if not isinstance(address, str):
        return None
    parts = [p.strip() for p in address.split(",") if p.strip()]
    try:
        for i in range(len(parts) - 1, 0, -1):
            province = find_province(parts[i], scheme=scheme)
            if province is None:
                continue
            if scheme == "2021" and i >= 2:
                district = find_district(parts[i - 1], province=province)
                if district is not None:
                    return find_ward(parts[i - 2], scheme=scheme, district=district)
            return find_ward(parts[i - 1], scheme=scheme, province=province)
    except IdentityError:
        return None
    return None
