"""People and households: who lives where, their names, dates of birth, IDs and phones.

Households are built first and people from them, so relatives share an address, a ward, often
a phone, and (father and children, a widowed grandparent) a surname: that is what makes a
relative's ID or phone a plausible error and what makes two people with one surname and one
address different people. The official facts (wards and districts of the 2021 scheme, the
province codes of the CCCD, its century-and-sex digit) come from ``tiemchung.identity``.
"""

from __future__ import annotations

import calendar
import random
from collections import defaultdict
from dataclasses import dataclass, field

from tiemchung.identity import CCCD_PROVINCES, AdminUnit, iter_admin_units, province_by_code

from .tables import FOREIGN, GIVEN, MIDDLE, STREETS, SURNAMES
from .values import passport

REFERENCE_YEAR = 2021
_MOBILE = (
    "090",
    "091",
    "093",
    "094",
    "096",
    "097",
    "098",
    "086",
    "088",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "070",
    "076",
    "077",
    "078",
    "079",
    "081",
    "083",
    "084",
    "085",
    "056",
    "058",
    "059",
)


@dataclass
class Person:
    idx: int
    household: int
    full_name: str
    sex: str  # "M" | "F"
    dob: str  # ISO, "1990-03-05" or "1990"
    national_id: str
    old_id: str | None
    ward: AdminUnit
    address: str
    phone: str | None
    kind: str = "resident"  # resident | missing (not in the register) | foreigner
    person_id: str = ""
    relatives: list[int] = field(default_factory=list)

    @property
    def in_register(self) -> bool:
        return self.kind == "resident"


@dataclass
class Places:
    """The wards people live in, and every ward of their districts (where a ward code can
    wrongly move to)."""

    wards: list[AdminUnit]
    by_district: dict[str, list[AdminUnit]]
    district_name: dict[str, str]
    province_name: dict[str, str]


def draw_places(people: int, rng: random.Random) -> Places:
    """Districts drawn at random, the first a city district, and up to four wards of each,
    until there is about one ward per 600 people (at least 12 wards).

    Only districts with two wards or more (a ward can move to a neighbour: any ward of the
    district, lived in or not) in provinces the CCCD table knows. A few wards per district
    spread even a small set over several districts and provinces."""
    units = list(iter_admin_units("2021"))
    districts = {u.code: u for u in units if u.level == "district"}
    wards_of: dict[str, list[AdminUnit]] = defaultdict(list)
    for u in units:
        if u.level == "ward" and not u.retired and u.parent_code:
            wards_of[u.parent_code].append(u)
    codes = sorted(
        c
        for c, ws in wards_of.items()
        if len(ws) >= 2 and "0" + districts[c].province_code in CCCD_PROVINCES
    )
    rng.shuffle(codes)
    # one city district first: every set then has street addresses as well as hamlets
    urban = next(c for c in codes if districts[c].name.startswith("Quận"))
    codes.remove(urban)
    codes.insert(0, urban)
    target = max(12, people // 600)
    chosen: dict[str, list[AdminUnit]] = {}
    wards: list[AdminUnit] = []
    for c in codes:
        chosen[c] = wards_of[c]
        wards += rng.sample(wards_of[c], min(4, len(wards_of[c])))
        if len(wards) >= target:
            break
    provinces = {d.province_code for d in (districts[c] for c in chosen)}
    pname = {}
    for pc in provinces:
        prov = province_by_code(pc, scheme="2021")
        pname[pc] = prov.name if prov else pc
    return Places(wards, chosen, {c: districts[c].name for c in chosen}, pname)


def _weighted(table: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    return rng.choices([t[0] for t in table], weights=[t[1] for t in table])[0]


def _name(surname: str, sex: str, rng: random.Random) -> str:
    middle = _weighted(MIDDLE[sex], rng)
    given = _weighted(GIVEN[sex], rng)
    if middle and rng.random() < 0.12:  # a second middle name
        second = _weighted(MIDDLE[sex], rng)
        if second and second != middle:
            # Văn and Thị mark the sex and come first: Nguyễn Thị Ngọc Hương, not Ngọc Thị
            first, then = (second, middle) if second in ("Văn", "Thị") else (middle, second)
            middle = f"{first} {then}"
    return " ".join(p for p in (surname, middle, given) if p)


def _dob(year: int, rng: random.Random) -> str:
    """ISO date; year only for a share that grows with age, as in real registers."""
    share = 0.35 if year < 1950 else 0.10 if year < 1970 else 0.01
    if rng.random() < share:
        return f"{year:04d}"
    month = rng.randint(1, 12)
    day = rng.randint(1, calendar.monthrange(year, month)[1])
    return f"{year:04d}-{month:02d}-{day:02d}"


def _phone(rng: random.Random) -> str:
    return rng.choice(_MOBILE) + "".join(rng.choice("0123456789") for _ in range(7))


class _Ids:
    """Unique CCCD and CMND numbers with the structure of the real ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def cccd(self, province_code: str, year: int, sex: str) -> str:
        """Province of birth registration (3 digits), century-and-sex digit, the year's last
        two digits, six random digits (no check digit exists)."""
        while True:
            century = (year // 100 - 19) * 2 + (1 if sex == "F" else 0)
            tail = "".join(self.rng.choice("0123456789") for _ in range(6))
            nid = f"{province_code}{century}{year % 100:02d}{tail}"
            if nid not in self.seen:
                self.seen.add(nid)
                return nid

    def cmnd(self) -> str:
        while True:
            nid = "".join(self.rng.choice("0123456789") for _ in range(9))
            if nid[0] != "0" and nid not in self.seen:
                self.seen.add(nid)
                return nid


def _hamlet_words(province_code: str) -> tuple[str, ...]:
    """The South says ấp, the northern uplands bản, the rest thôn or xóm; tổ everywhere."""
    code = int(province_code)
    if code >= 70:
        return ("Ấp", "Ấp", "Tổ")
    if code <= 20:
        return ("Bản", "Thôn", "Xóm", "Tổ")
    return ("Thôn", "Xóm", "Tổ")


def _address(ward: AdminUnit, places: Places, rng: random.Random) -> str:
    district = ward.parent_code or ""
    dname = places.district_name[district]
    urban = dname.startswith(("Quận", "Thành phố", "Thị xã")) or ward.name.startswith("Phường")
    if urban:
        line = f"Số {rng.randint(1, 320)} {rng.choice(STREETS)}"
        if rng.random() < 0.35:
            alley = rng.choice(("Ngõ", "Hẻm"))
            line = f"Số {rng.randint(1, 80)}, {alley} {rng.randint(2, 200)} {rng.choice(STREETS)}"
            line = line.replace(", ", " ", 1)
    else:
        line = f"{rng.choice(_hamlet_words(ward.province_code))} {rng.randint(1, 15)}"
    return f"{line}, {ward.name}, {dname}, {places.province_name[ward.province_code]}"


_SIZES = (1, 2, 3, 4, 5, 6)
_SIZE_WEIGHTS = (12, 20, 25, 25, 12, 6)


def build_people(
    people: int, rates: dict[str, float], rng: random.Random
) -> tuple[list[Person], Places]:
    """``people`` residents in households, plus the foreigners living among them."""
    places = draw_places(people, rng)
    ids = _Ids(rng)
    provinces = sorted(CCCD_PROVINCES)
    out: list[Person] = []
    hh = 0

    def add(
        name: str,
        sex: str,
        year: int,
        ward: AdminUnit,
        address: str,
        phone: str | None,
        household: int,
    ) -> Person:
        born_here = "0" + ward.province_code
        province = born_here if rng.random() < 0.85 else rng.choice(provinces)
        old = ids.cmnd() if year < 2000 and rng.random() < rates["old_id_holder"] else None
        kind = "missing" if rng.random() < rates["missing_from_register"] else "resident"
        p = Person(
            len(out),
            household,
            name,
            sex,
            _dob(year, rng),
            ids.cccd(province, year, sex),
            old,
            ward,
            address,
            phone,
            kind,
        )
        out.append(p)
        return p

    while len(out) < people:
        size = min(rng.choices(_SIZES, weights=_SIZE_WEIGHTS)[0], people - len(out))
        ward = rng.choice(places.wards)
        address = _address(ward, places, rng)
        head_sex = "M" if rng.random() < 0.75 else "F"
        head_year = REFERENCE_YEAR - rng.randint(22, 85)
        surname = _weighted(SURNAMES, rng)
        house_phone = _phone(rng)
        members = [
            add(_name(surname, head_sex, rng), head_sex, head_year, ward, address, house_phone, hh)
        ]
        if size >= 2:
            sex = "F" if head_sex == "M" else "M"
            year = max(1925, min(REFERENCE_YEAR - 18, head_year + rng.randint(-6, 6)))
            spouse_surname = _weighted(SURNAMES, rng)
            members.append(
                add(
                    _name(spouse_surname, sex, rng),
                    sex,
                    year,
                    ward,
                    address,
                    _phone(rng) if rng.random() < 0.8 else None,
                    hh,
                )
            )
        kid_surname = surname if head_sex == "M" or size == 1 else _weighted(SURNAMES, rng)
        extra = size - len(members)
        if extra >= 3 and head_year > 1950:  # a grandparent: the head's parent
            sex = "M" if rng.random() < 0.4 else "F"
            year = max(1915, head_year - rng.randint(20, 32))
            gname = surname if sex == "M" else _weighted(SURNAMES, rng)
            members.append(
                add(
                    _name(gname, sex, rng),
                    sex,
                    year,
                    ward,
                    address,
                    house_phone if rng.random() < 0.6 else None,
                    hh,
                )
            )
            extra -= 1
        for _ in range(extra):
            sex = "M" if rng.random() < 0.51 else "F"
            year = min(REFERENCE_YEAR - 1, head_year + rng.randint(18, 40))
            own = _phone(rng) if REFERENCE_YEAR - year >= 16 and rng.random() < 0.7 else None
            members.append(
                add(_name(kid_surname, sex, rng), sex, year, ward, address, own or house_phone, hh)
            )
        ids_here = [m.idx for m in members]
        for m in members:
            m.relatives = [i for i in ids_here if i != m.idx]
        hh += 1

    for _ in range(round(people * rates["foreigners"])):
        family, given, sex = rng.choice(FOREIGN)
        ward = rng.choice(places.wards)
        year = REFERENCE_YEAR - rng.randint(20, 65)
        name = f"{family} {given}" if rng.random() < 0.5 else f"{given} {family}"
        out.append(
            Person(
                len(out),
                hh,
                name,
                sex,
                _dob(year, rng),
                passport(rng),
                None,
                ward,
                _address(ward, places, rng),
                _phone(rng),
                "foreigner",
            )
        )
        hh += 1

    n = 0
    for p in out:
        if p.in_register:
            p.person_id = f"Q{n:08d}"
            n += 1
    return out, places
