"""The ward plan and the vaccination sites: what every cell of the population shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tiemchung.identity import CCCD_PROVINCES, iter_admin_units, province_by_code

from . import tables as tb
from .draws import CELL, rng_for
from .profile import Profile


# --- the ward plan and the sites --------------------------------------------------------------
@dataclass
class Ward:
    code: str
    name: str
    district_code: str
    district_name: str
    province_code: str
    province_name: str
    urban: bool
    region: str
    neighbour_code: str  # the next ward of the district in code order (a dropdown slip)


@dataclass
class Site:
    site_id: str
    name: str
    kind: str
    ward_code: str
    district_code: str
    province_code: str


@dataclass
class World:
    """Everything shared by all cells: where people live and where they are vaccinated."""

    seed: int
    people: int
    profile: Profile
    wards: list[Ward] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    sites: list[Site] = field(default_factory=list)
    station: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    centre: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hospital: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    others: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.int64))
    other_count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def cells(self) -> int:
        return max(1, -(-self.people // CELL))

    @cached_property
    def birth_provinces(self) -> list[str]:
        return sorted(CCCD_PROVINCES)

    @classmethod
    def build(cls, seed: int, people: int, profile: Profile) -> World:
        if people < 1:
            raise ValueError("people must be at least 1")
        world = cls(seed, people, profile)
        world._plan_wards()
        world._plan_sites()
        return world

    def _plan_wards(self) -> None:
        rng = rng_for(self.seed, 1 << 30, 1)
        pop = self.profile["population"]
        provinces: dict[str, float] = {
            str(k).zfill(2): float(v) for k, v in pop["provinces"].items() if v > 0
        }
        units = list(iter_admin_units("2021"))
        districts: dict[str, list] = {}
        wards_of: dict[str, list] = {}
        names = {u.code: u.name for u in units if u.level == "district"}
        for u in units:
            if u.level == "district" and u.province_code in provinces:
                districts.setdefault(u.province_code, []).append(u)
            elif u.level == "ward" and u.province_code in provinces:
                wards_of.setdefault(u.parent_code or "", []).append(u)
        total_wards = max(1, round(self.people / pop["mean_ward_people"]))
        share_sum = sum(provinces.values())
        chosen = []
        for pcode, share in provinces.items():
            if pcode not in districts:
                raise ValueError(f"profile: no 2021 districts for province code {pcode}")
            want = max(1, round(total_wards * share / share_sum))
            order = rng.permutation(len(districts[pcode]))
            got = 0
            for i in order:
                d = districts[pcode][i]
                ws = sorted(wards_of.get(d.code, []), key=lambda u: u.code)
                for j, w in enumerate(ws):
                    if got == want:
                        break
                    nxt = ws[j + 1] if j + 1 < len(ws) else ws[j - 1] if j else None
                    chosen.append((w, d, nxt))
                    got += 1
                if got == want:
                    break
        prov_names = {}
        for pcode in provinces:
            unit = province_by_code(pcode, scheme="2021")
            prov_names[pcode] = unit.name if unit else pcode
        for w, d, nxt in chosen:
            urban = w.name.startswith(("Phường", "Thị trấn"))
            self.wards.append(
                Ward(
                    w.code,
                    w.name,
                    d.code,
                    names.get(d.code, d.name),
                    w.province_code,
                    prov_names[w.province_code],
                    urban,
                    tb.region_of(w.province_code),
                    nxt.code if nxt is not None else w.code,
                )
            )
        # Ward sizes: log-normal, urban wards about 1.5 times the rural ones.
        weight = rng.lognormal(0.0, pop["ward_size_sigma"], len(self.wards))
        weight *= np.array([1.5 if w.urban else 1.0 for w in self.wards])
        prov_share = np.array([provinces[w.province_code] for w in self.wards])
        per_prov: dict[str, float] = {}
        for w, x in zip(self.wards, weight, strict=True):
            per_prov[w.province_code] = per_prov.get(w.province_code, 0.0) + x
        weight = weight / np.array([per_prov[w.province_code] for w in self.wards]) * prov_share
        exact = weight / weight.sum() * self.people
        sizes = np.floor(exact).astype(np.int64)
        rest = self.people - sizes.sum()
        if rest:
            sizes[np.argsort(-(exact - sizes), kind="stable")[:rest]] += 1
        self.starts = np.r_[0, np.cumsum(sizes)].astype(np.int64)

    def _plan_sites(self) -> None:
        sites: list[Site] = []
        index: dict[str, int] = {}

        def add(site: Site) -> int:
            if site.site_id not in index:
                index[site.site_id] = len(sites)
                sites.append(site)
            return index[site.site_id]

        station, centre, hospital = [], [], []
        for w in self.wards:
            station.append(
                add(
                    Site(
                        f"TYT{w.code}",
                        f"Trạm Y tế {w.name}",
                        "commune_station",
                        w.code,
                        w.district_code,
                        w.province_code,
                    )
                )
            )
        for w in self.wards:
            centre.append(
                add(
                    Site(
                        f"TTYT{w.district_code}",
                        f"Trung tâm Y tế {w.district_name}",
                        "district_centre",
                        w.code,
                        w.district_code,
                        w.province_code,
                    )
                )
            )
        for w in self.wards:
            short = w.province_name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
            hospital.append(
                add(
                    Site(
                        f"BV{w.province_code}",
                        f"Bệnh viện Đa khoa {short}",
                        "province_hospital",
                        w.code,
                        w.district_code,
                        w.province_code,
                    )
                )
            )
        self.sites = sites
        self.station = np.array(station, dtype=np.int64)
        self.centre = np.array(centre, dtype=np.int64)
        self.hospital = np.array(hospital, dtype=np.int64)
        others: list[list[int]] = []
        for i, w in enumerate(self.wards):
            others.append(
                [
                    station[j]
                    for j, v in enumerate(self.wards)
                    if v.district_code == w.district_code and j != i
                ][:64]
            )
        width = max(1, max((len(o) for o in others), default=1))
        self.others = np.array([o + [-1] * (width - len(o)) for o in others], dtype=np.int64)
        self.other_count = np.array([len(o) for o in others], dtype=np.int64)
