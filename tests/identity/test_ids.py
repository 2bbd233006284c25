"""ID numbers: parsing, fields, and conflicts with date of birth and sex (synthetic IDs)."""

from __future__ import annotations

import datetime as dt

import pytest

from tiemchung.identity import (
    CCCD_PROVINCES,
    IdentityError,
    NationalId,
    PartialDate,
    id_conflicts,
    parse_national_id,
    parse_sex,
)


@pytest.mark.parametrize(
    ("text", "digits", "kind"),
    [
        ("001090012345", "001090012345", "cccd"),
        ("001 090 012 345", "001090012345", "cccd"),
        ("001.090.012.345", "001090012345", "cccd"),
        ("001-090-012345", "001090012345", "cccd"),
        ("  079190054321\r\n", "079190054321", "cccd"),
        ("123456789", "123456789", "cmnd"),
        ("123 456 789", "123456789", "cmnd"),
        ("240123456789", "240123456789", "cccd"),  # registered abroad
    ],
)
def test_parse_valid(text: str, digits: str, kind: str) -> None:
    nid = parse_national_id(text)
    assert nid == NationalId(digits, kind)  # type: ignore[arg-type]
    assert str(nid) == digits


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "id_empty"),
        (" . - ", "id_empty"),
        ("01090012345", "id_length_11"),
        ("1234567890", "id_length"),
        ("0010900123456", "id_length"),
        ("00109O012345", "id_bad_char"),
        ("001090012345a", "id_bad_char"),
        ("1.09001E+11", "id_bad_char"),
        ("００１０９００１２３４５", "id_bad_char"),  # full-width digits are not accepted
        ("001_090_012345", "id_bad_char"),
    ],
)
def test_parse_invalid(text: str, code: str) -> None:
    with pytest.raises(IdentityError) as exc:
        parse_national_id(text)
    assert exc.value.code == code
    assert exc.value.message_vi and exc.value.message_en


def test_bad_char_names_the_character() -> None:
    with pytest.raises(IdentityError) as exc:
        parse_national_id("00109O012345")
    assert exc.value.params["char"] == "O"
    assert "'O'" in exc.value.message_en


def test_non_text_is_identity_error() -> None:
    with pytest.raises(IdentityError) as exc:
        parse_national_id(1090012345)  # type: ignore[arg-type]
    assert exc.value.code == "not_text"


@pytest.mark.parametrize(
    ("digits", "province", "name", "sex", "century", "yy", "year"),
    [
        ("001090012345", "001", "Hà Nội", "male", 1900, 90, 1990),
        ("079185000001", "079", "Hồ Chí Minh", "female", 1900, 85, 1985),
        ("096205123456", "096", "Cà Mau", "male", 2000, 5, 2005),
        ("046312999999", "046", "Thừa Thiên Huế", "female", 2000, 12, 2012),
        ("002400000000", "002", "Hà Giang", "male", 2100, 0, 2100),
        ("038599000000", "038", "Thanh Hóa", "female", 2100, 99, 2199),
    ],
)
def test_cccd_fields(digits: str, province: str, name: str, sex: str, century: int, yy: int,
                     year: int) -> None:
    nid = parse_national_id(digits)
    assert nid.province_code == province
    assert nid.province_name == name
    assert nid.sex == sex
    assert nid.century == century
    assert nid.birth_year_2d == yy
    assert nid.birth_year == year
    assert nid.birth_year_matches(year)
    assert not nid.birth_year_matches(year + 100)
    assert not nid.registered_abroad
    assert nid.country_code is None


def test_prefix_is_old_table_not_2025_codes() -> None:
    # 2025 code 04 is Cao Bằng in both, but 2025 has no 046 Thừa Thiên Huế / 002 Hà Giang:
    # the ID prefix is always read with the 2016 table.
    assert parse_national_id("002090000000").province_name == "Hà Giang"
    assert parse_national_id("067090000000").province_name == "Đắk Nông"


def test_abroad_and_unknown_province() -> None:
    abroad = parse_national_id("840090000000")
    assert abroad.registered_abroad and abroad.country_code == "840"
    assert abroad.province_code is None and abroad.province_name is None
    unknown = parse_national_id("003090000000")
    assert unknown.province_code == "003" and unknown.province_name is None


def test_cmnd_has_no_encoded_fields() -> None:
    nid = parse_national_id("123456789")
    assert (nid.sex, nid.century, nid.birth_year_2d, nid.birth_year) == (None, None, None, None)
    assert nid.province_code is None
    assert nid.birth_year_matches(1950)


def test_province_table_matches_annex_1() -> None:
    assert len(CCCD_PROVINCES) == 63
    assert CCCD_PROVINCES["001"] == "Hà Nội"
    assert CCCD_PROVINCES["002"] == "Hà Giang"
    assert CCCD_PROVINCES["004"] == "Cao Bằng"
    assert CCCD_PROVINCES["079"] == "Hồ Chí Minh"
    assert CCCD_PROVINCES["096"] == "Cà Mau"
    assert "003" not in CCCD_PROVINCES and "005" not in CCCD_PROVINCES


@pytest.mark.parametrize(
    ("dob", "sex", "codes"),
    [
        ("05/03/1990", "Nam", []),
        (dt.date(1990, 3, 5), "male", []),
        (PartialDate(1990), None, []),
        (1990, "M", []),
        ("05/03/1991", "Nam", ["birth_year"]),
        (PartialDate(2090, 3, 5), None, ["century"]),
        ("05/03/1989", None, ["birth_year"]),
        ("1990", "Nữ", ["sex"]),
        (PartialDate(2091), "nu", ["century", "birth_year", "sex"]),
        (None, None, []),
    ],
)
def test_conflicts(dob: object, sex: str | None, codes: list[str]) -> None:
    found = id_conflicts("001090012345", dob, sex)
    assert [c.code for c in found] == codes
    for c in found:
        assert c.message_vi and c.message_en


def test_conflict_unknown_province() -> None:
    assert [c.code for c in id_conflicts("003090012345", 1990, "Nam")] == ["unknown_province"]


def test_conflict_cmnd_never() -> None:
    assert id_conflicts("123456789", "01/01/1950", "Nữ") == []


def test_conflicts_bad_inputs_raise_identity_error() -> None:
    with pytest.raises(IdentityError):
        id_conflicts("12", 1990)
    with pytest.raises(IdentityError):
        id_conflicts("001090012345", "not a date")
    with pytest.raises(IdentityError):
        id_conflicts("001090012345", 1990, "1")


@pytest.mark.parametrize(("text", "sex"), [("Nam", "male"), ("NỮ", "female"), ("nữ", "female"),
                                           ("Nu", "female"), (" m ", "male"), ("F", "female"),
                                           ("male", "male"), ("Female", "female")])
def test_parse_sex(text: str, sex: str) -> None:
    assert parse_sex(text) == sex


@pytest.mark.parametrize("text", ["1", "0", "", "x", "nam nữ"])
def test_parse_sex_rejects(text: str) -> None:
    with pytest.raises(IdentityError) as exc:
        parse_sex(text)
    assert exc.value.code == "sex_invalid"
