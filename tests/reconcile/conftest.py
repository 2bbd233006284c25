"""Fixtures: a small synthetic population with hand-made people and records added.

The synthetic part (``tiemchung synth``) gives EM enough data to learn from; the hand-made
part holds the cases whose right answers are written here by hand, independently of the
engine: a parent's ID on a child's record, twins, a legacy tone style, a placeholder date...
Hand-made persons live in ward ``WARD`` of the synthetic register (so wards exist) and use
province prefix 099 in their IDs, which no province has (the
fixture checks).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import Options, reconcile
from tiemchung.synth import generate

PEOPLE = 3000
SEED = 7

REGISTER_COLS = (
    "person_id",
    "national_id",
    "old_id",
    "full_name",
    "dob",
    "sex",
    "ward_code",
    "address",
    "phone",
)
RECORD_COLS = (
    "record_id",
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "address",
    "vaccine",
    "dose_number",
    "dose_date",
    "site_id",
)


def persons(ward: str) -> list[dict[str, Any]]:
    home = "Số 7 ngõ 9 Phố Hàng Bông"
    return [
        dict(
            person_id="T01",
            national_id="099080012345",
            old_id="312345678",
            full_name="Nguyễn Văn Hùng",
            dob="1980-03-05",
            sex="M",
            ward_code=ward,
            address=home,
            phone="0912345678",
        ),
        dict(
            person_id="T02",
            national_id="099185012346",
            old_id=None,
            full_name="Trần Thị Lan",
            dob="1985-07-12",
            sex="F",
            ward_code=ward,
            address=home,
            phone="0987654321",
        ),
        dict(
            person_id="T03",
            national_id="099210012347",
            old_id=None,
            full_name="Nguyễn Minh Khôi",
            dob="2010-11-20",
            sex="M",
            ward_code=ward,
            address=home,
            phone=None,
        ),
        dict(
            person_id="T04",
            national_id="099190000001",
            old_id=None,
            full_name="Lê Thị Hòa",
            dob="1990-01-15",
            sex="F",
            ward_code=ward,
            address="Số 3 Phố Huế",
            phone="0901111111",
        ),
        dict(
            person_id="T05",
            national_id="099075000002",
            old_id=None,
            full_name="Phạm Văn Đức",
            dob="1975",
            sex="M",
            ward_code=ward,
            address="Số 5 Phố Huế",
            phone=None,
        ),
        dict(
            person_id="T06",
            national_id="099200000011",
            old_id=None,
            full_name="Võ Văn An",
            dob="2000-06-06",
            sex="M",
            ward_code=ward,
            address="Số 8 Phố Huế",
            phone="0933333333",
        ),
        dict(
            person_id="T07",
            national_id="099200000012",
            old_id=None,
            full_name="Võ Văn Anh",
            dob="2000-06-06",
            sex="M",
            ward_code=ward,
            address="Số 8 Phố Huế",
            phone="0933333333",
        ),
        dict(
            person_id="T08",
            national_id="099160000020",
            old_id=None,
            full_name="Hoàng Thị Mai",
            dob="1960-12-01",
            sex="F",
            ward_code=ward,
            address="Số 10 Phố Huế",
            phone="0944444444",
        ),
        # a foreigner, registered with a passport
        dict(
            person_id="T09",
            national_id="B7654321",
            old_id=None,
            full_name="Kim Min Jun",
            dob="1988-04-02",
            sex="M",
            ward_code=ward,
            address="Số 12 ngõ 45 Phố Huế",
            phone=None,
        ),
    ]


def _rec(
    rid: str | None,
    nid: str | None,
    name: str | None,
    dob: str | None,
    sex: str | None,
    ward: str | None,
    dose: str = "1",
    date: str = "01/08/2021",
    site: str = "S1",
    phone: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    return dict(
        record_id=rid,
        national_id=nid,
        full_name=name,
        dob=dob,
        sex=sex,
        phone=phone,
        ward_code=ward,
        address=address,
        vaccine="AZ",
        dose_number=dose,
        dose_date=date,
        site_id=site,
    )


#: T09's address (two numbers: house and alley)
KIM = "Số 12 ngõ 45 Phố Huế"


def records(ward: str) -> list[dict[str, Any]]:
    w = ward.lstrip("0")  # spreadsheets drop the leading zero: formatting, not an error
    return [
        # formatting only: capitals, spaced ID, dd/mm/yyyy, "NAM", ward without its zero
        _rec("X01", "099 080 012345", "NGUYỄN  VĂN HÙNG", "05/03/1980", "NAM", w),
        # old 9-digit ID and no diacritics: the right person, two fields wrong
        _rec(
            "X02",
            "312345678",
            "Nguyen Van Hung",
            "05/03/1980",
            "Nam",
            ward,
            dose="2",
            date="01/10/2021",
        ),
        # a child's record with the father's ID
        _rec("X03", "099080012345", "Nguyễn Minh Khôi", "20/11/2010", "Nam", ward),
        # new-style tone placement (Hoà) is formatting
        _rec("X04", "099190000001", "Lê Thị Hoà", "15/01/1990", "Nữ", ward),
        # 01/01 placeholder for a register that knows only the year
        _rec("X05", "099075000002", "Phạm Văn Đức", "01/01/1975", "Nam", ward),
        # one twin, ID missing: must never be linked automatically to the other twin
        _rec("X06", None, "Võ Văn An", "06/06/2000", "Nam", ward, phone="0933333333"),
        # nothing to link on
        _rec("X07", None, "   ", "không rõ", "Nam", ward),
        # no record_id at all
        _rec(
            None,
            "099185012346",
            "Trần Thị Lan",
            "12/07/1985",
            "Nữ",
            ward,
            dose="3",
            date="01/03/2022",
        ),
        # a dose entered twice, at two sites on the same day
        _rec(
            "X09",
            "099185012346",
            "Trần Thị Lan",
            "12/07/1985",
            "Nữ",
            ward,
            date="02/08/2021",
            site="S1",
        ),
        _rec(
            "X10",
            "099185012346",
            "TRẦN THỊ LAN",
            "12/07/1985",
            "nữ",
            ward,
            date="02/08/2021",
            site="S2",
        ),
        # somebody who is not in the register
        _rec("X11", "099099999999", "Đinh Công Tráng", "09/09/1999", "Nam", ward),
        # day and month swapped, ID missing
        _rec("X12", None, "Hoàng Thị Mai", "12/01/1960", "Nữ", ward, phone="0944444444"),
        # two neighbouring digits of the ID swapped
        _rec(
            "X13",
            "099185012364",
            "Trần Thị Lan",
            "12/07/1985",
            "Nữ",
            ward,
            dose="2",
            date="01/11/2021",
        ),
        # typed in Telex with the input method off
        _rec(
            "X14",
            "099185012346",
            "Traanf Thij Lan",
            "12/07/1985",
            "Nữ",
            ward,
            dose="4",
            date="01/06/2022",
        ),
        # incomplete, not wrong: only the birth year of a register date
        _rec(
            "X15",
            "099080012345",
            "Nguyễn Văn Hùng",
            "1980",
            "Nam",
            ward,
            dose="3",
            date="01/03/2022",
        ),
        # incomplete: the middle name dropped
        _rec(
            "X16", "099185012346", "Trần Lan", "12/07/1985", "Nữ", ward, dose="5", date="01/09/2022"
        ),
        # the middle name dropped *and* no diacritics: wrong (wrong beats incomplete)
        _rec(
            "X17", "099185012346", "Tran Lan", "12/07/1985", "Nữ", ward, dose="6", date="01/12/2022"
        ),
        # sex and ward left blank; the register has both
        _rec(
            "X18",
            "099190000001",
            "Lê Thị Hòa",
            "15/01/1990",
            None,
            None,
            dose="2",
            date="01/10/2021",
        ),
        # a full date where the register knows only the year: neither wrong nor incomplete
        _rec(
            "X19",
            "099075000002",
            "Phạm Văn Đức",
            "10/04/1975",
            "Nam",
            ward,
            dose="2",
            date="01/10/2021",
        ),
        # a date of birth that cannot be read is wrong, not missing
        _rec(
            "X20",
            "099160000020",
            "Hoàng Thị Mai",
            "31/02/1960",
            "Nữ",
            ward,
            dose="2",
            date="01/10/2021",
        ),
        # issue 16: no ID and a Telex slip in the surname, everything else right
        _rec("X21", None, "Tfần Thị Lan", "12/07/1985", "Nữ", ward, dose="2", date="05/10/2021"),
        # the ID with a digit dropped and a letter wrong in the name, no ward
        _rec("X22", "09918501236", "Trần Thị Lam", "12/07/1985", "Nữ", None, dose="3"),
        # the words in another order (surname last), no ID
        _rec("X23", None, "Mai Hoàng Thị", "01/12/1960", "Nữ", ward, dose="2"),
        # X06 (a twin, no ID: review) typed again the next day: a double entry of X06
        _rec(
            "X24",
            None,
            "Võ Văn An",
            "06/06/2000",
            "Nam",
            ward,
            date="02/08/2021",
            phone="0933333333",
        ),
        # Võ Văn An with his ID, dose 1 the day X06 was entered: linked, and X06's possible twin
        _rec("X25", "099200000011", "Võ Văn An", "06/06/2000", "Nam", ward, phone="0933333333"),
        # X06 typed again 19 days later: another dose date, not a double entry
        _rec(
            "X26",
            None,
            "Võ Văn An",
            "06/06/2000",
            "Nam",
            ward,
            date="20/08/2021",
            phone="0933333333",
        ),
        # FEBRL4's kind (issue 16): Kim Min Jun's passport one digit off, his name's words
        # in another order with a typo, another birth date, his address and no ward: only
        # the last blocking tier proposes him, and ID and address make him plausible
        _rec("X33", "B7654821", "Min Jun Kimm", "15/09/1979", "Nam", None, address=KIM),
        # ...and a stranger at his address (another ID, name and birth date): nobody fits
        _rec("X34", "C1234567", "Đặng Quốc Bảo", "05/05/1970", "Nam", None, address=KIM),
    ]


#: a site that only the hand-made records name: its people live in one ward
SITE = "S7"
#: how many people of that ward it vaccinates with their ID typed right (what the run
#: learns the site's place from: more than the least it learns from, 20)
SITE_PEOPLE = 25


def site_ward(register: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """A ward with enough people of three-word names for :func:`site_records`: the ward and
    them, by person_id (the same on every run of the fixture)."""
    by_ward: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(register, key=lambda r: str(r["person_id"])):
        words = str(r["full_name"] or "").split()
        if len(words) == 3 and r["national_id"] and len(str(r["dob"] or "")) == 10:
            by_ward.setdefault(str(r["ward_code"]), []).append(r)
    ward = sorted(w for w, ps in by_ward.items() if len(ps) > SITE_PEOPLE)[0]
    return ward, by_ward[ward][: SITE_PEOPLE + 1]


def site_records(register: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Site ``SITE`` vaccinates ``SITE_PEOPLE`` people of one ward, typed right; then the
    last of them typed with nothing but a name and a birth year, and the name with the
    middle name dropped and a letter doubled (``Nguyễn Hùngg`` for ``Nguyễn Văn Hùng``),
    once at ``SITE`` (record ``X31``) and once, in capitals, at a site nobody else names
    (``X32``)."""
    _ward, people = site_ward(register)
    out = [
        _rec(f"S7-{k:02d}", p["national_id"], p["full_name"], p["dob"], p["sex"], None, site=SITE)
        for k, p in enumerate(people[:SITE_PEOPLE])
    ]
    last = people[SITE_PEOPLE]
    surname, _middle, given = str(last["full_name"]).split()
    typo = f"{surname} {given}{given[-1]}"
    year = str(last["dob"])[:4]
    out.append(_rec("X31", None, typo, year, None, None, dose="2", site=SITE))
    # (in capitals: another typing, so another identity than X31's)
    out.append(_rec("X32", None, typo.upper(), year, None, None, dose="2", site="S8"))
    return out


@dataclass
class Case:
    """A synthetic set plus the hand-made rows, written as files, and a run over them."""

    data: Path
    out: Path
    register_file: Path
    records_file: Path
    truth_file: Path
    ward: str
    summary: dict[str, Any]

    def links(self) -> dict[str, dict[str, Any]]:
        rows = pq.read_table(self.out / "links.parquet").to_pylist()
        return {r["record_id"]: r for r in rows}


def _write_csv(path: Path, cols: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c) for c in cols})


def build_case(root: Path, people: int = PEOPLE, seed: int = SEED) -> tuple[Path, Path, Path, str]:
    """Synthetic data + the hand-made rows; returns (register.csv, records.parquet,
    truth.parquet, ward)."""
    data = root / "synth"
    generate(people, seed, data, workers=1)
    register = pq.read_table(data / "register.parquet").to_pylist()
    recs = pq.read_table(data / "records.parquet")
    ward = sorted({r["ward_code"] for r in register})[0]
    assert not any(str(r["national_id"]).startswith("099") for r in register)
    _write_csv(root / "register.csv", REGISTER_COLS, register + persons(ward))
    extra = records(ward) + site_records(register)
    table = pa.concat_tables(
        [
            recs.select(list(RECORD_COLS)),
            pa.table({c: pa.array([r[c] for r in extra], pa.string()) for c in RECORD_COLS}),
        ]
    )
    pq.write_table(table, root / "records.parquet")
    return root / "register.csv", root / "records.parquet", data / "truth.parquet", ward


@pytest.fixture(scope="session")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    root = tmp_path_factory.mktemp("reconcile")
    reg, rec, truth, ward = build_case(root)
    out = root / "out"
    summary = reconcile(Options(rec, reg, out, threads=2))
    return Case(root, out, reg, rec, truth, ward, summary)
