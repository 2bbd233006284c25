"""The value standardisers against the Python toolkit they must agree with."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from tiemchung.identity import fold_name, normalize_name, parse_dob, parse_national_id
from tiemchung.identity.bulk import register_macros
from tiemchung.reconcile.standardise import KINDS

NAMES = [
    "Nguyễn Văn Hùng",
    "NGUYỄN  VĂN HÙNG",
    " nguyễn thị thuỷ ",
    "Lê Hoà",
    "Lê Hòa",
    "Trần Thị Khoẻ",
    "Hoàng Thị Hoa",
    "Đỗ Quý",
    "Phạm Thuỵ Vy",
    "Hoà Thoả Khuỳ",
    "Y-Hoà Niê",
    "H'Hoà",
    "Nguyen Van Hung",
    "John Smith",
]


_CON: list[duckdb.DuckDBPyConnection] = []


def _con() -> duckdb.DuckDBPyConnection:
    if not _CON:  # registering the macros costs ~0.5 s: once per module
        con = duckdb.connect()
        register_macros(con)
        _CON.append(con)
    return _CON[0]


def _run(kind: str, values: list[str | None]) -> dict[str | None, dict]:
    con = _con()
    con.register("src", pa.table({"v": pa.array(values, pa.string())}))
    KINDS[kind][0](con, "src", "out")
    rows = con.sql("SELECT * FROM out").to_arrow_table().to_pylist()
    con.unregister("src")
    return {r["v"]: r for r in rows}


DATES = [
    "05/03/1980",
    "5/3/1980",
    "1980-03-05",
    "1980",
    "03/1980",
    "1980-03",
    "05.03.1980",
    "05031980",
    "ngày 5 tháng 3 năm 1980",
    "31/02/1990",
    "abc",
    "12/01/1960",
]


@pytest.fixture(scope="module")
def dates() -> dict[str | None, dict]:
    return _run("date", DATES)


def test_name_norm_equals_lower_case_normalize_name() -> None:
    out = _run("name", NAMES)
    for n in NAMES:
        assert out[n]["name_norm"] == normalize_name(n).lower(), n
        assert out[n]["name_fold"] == fold_name(n), n


def test_names_repair_legacy_encoding_and_telex() -> None:
    tcvn3 = "NguyÔn V¨n Hïng"  # TCVN3 (ABC) bytes read as Latin-1
    telex = "Nguyeenx Vawn Hufng"
    out = _run("name", [tcvn3, telex])
    # an encoding repair is formatting: the display form is the real name
    assert out[tcvn3]["name_norm"] == "nguyễn văn hùng"
    assert out[tcvn3]["name_fold"] == "nguyen van hung"
    # a typing repair links (fold) but the typed name stays wrong (norm)
    assert out[telex]["name_fold"] == "nguyen van hung"
    assert out[telex]["name_norm"] == "nguyeenx vawn hufng"
    assert (out[telex]["surname"], out[telex]["given"], out[telex]["ntok"]) == ("nguyen", "hung", 3)


@pytest.mark.parametrize("text", DATES)
def test_dates_follow_parse_dob(text: str, dates: dict[str | None, dict]) -> None:
    row = dates[text]
    try:
        iso = parse_dob(text).iso
    except Exception:
        iso = None
    assert row["dob_iso"] == iso


def test_staged_date_macros_equal_tc_dob() -> None:
    values = ["05/03/1980", "1980", "03/1980", "2021-07-29", "29/07/2021", "x", "44197"]
    out = _run("date", values)
    con = _con()
    for v in values:
        p = con.execute("SELECT tc_dob(?)", [v]).fetchall()[0][0]
        r = out[v]
        assert (r["dob_y"], r["dob_m"], r["dob_d"]) == (
            (p["year"], p["month"], p["day"]) if p else (None, None, None)
        ), v


def test_ids_vietnamese_and_generic() -> None:
    out = _run("id", ["001 080 012345", "012.345.678", "M22484937", "b1234567", "000000000", "n/a"])
    assert out["001 080 012345"]["id_key"] == parse_national_id("001 080 012345").digits
    assert out["001 080 012345"]["id_kind"] == "cccd"
    assert out["012.345.678"]["id_kind"] == "cmnd"
    assert (out["M22484937"]["id_key"], out["M22484937"]["id_kind"]) == ("M22484937", "other")
    assert out["b1234567"]["id_key"] == "B1234567"
    assert out["000000000"]["id_key"] is None  # a placeholder is no ID
    assert out["n/a"]["id_key"] is None


def test_staged_phone_macros_equal_tc_phone() -> None:
    values = [
        "0912345678",
        "+84 912 345 678",
        "0168 234 5678",
        "84912345678",
        "02438123456",
        "912345678",
        "12345",
        "abc",
        "0912.345.678",
    ]
    out = _run("phone", values)
    con = _con()
    for v in values:
        assert out[v]["phone"] == con.execute("SELECT tc_phone(?)", [v]).fetchall()[0][0], v


def test_sex_and_ward() -> None:
    sex = _run("sex", ["Nam", "NỮ", "nu", "F", "x"])
    assert [sex[v]["sex"] for v in ("Nam", "NỮ", "nu", "F", "x")] == ["M", "F", "F", "F", None]
    ward = _run("ward", ["115", "00115", "abc"])
    assert ward["115"]["ward"] == ward["00115"]["ward"] == "00115"
    assert ward["115"]["district"] == "004"
    assert ward["115"]["province"] == "01"
    assert ward["abc"]["ward"] is None
