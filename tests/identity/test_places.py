"""Administrative units: both schemes, codes, loose names."""

from __future__ import annotations

from collections import Counter

import pytest

from tiemchung.identity import (
    AdminUnit,
    IdentityError,
    district_by_code,
    find_district,
    find_province,
    find_ward,
    iter_admin_units,
    province_by_code,
    search_units,
    ward_by_code,
    ward_of_address,
)


def test_counts_2021() -> None:
    units = list(iter_admin_units("2021"))
    levels = Counter(u.level for u in units)
    assert levels["province"] == 63
    assert 690 <= levels["district"] <= 720
    assert 10_500 <= levels["ward"] <= 10_700
    active = Counter(u.level for u in units if not u.retired)
    assert active["district"] == 696 and active["ward"] == 10_051  # GSO list of 2025-01-04
    assert [u.level for u in units[:63]] == ["province"] * 63  # provinces first


def test_counts_2025() -> None:
    units = list(iter_admin_units("2025"))
    levels = Counter(u.level for u in units)
    assert levels == Counter({"province": 34, "ward": levels["ward"]})
    assert 3_000 <= levels["ward"] <= 3_400
    assert all(u.parent_code == u.province_code for u in units if u.level == "ward")


def test_hierarchy_is_consistent() -> None:
    units = list(iter_admin_units("2021"))
    by = {(u.level, u.code): u for u in units}
    for u in units:
        if u.level == "district":
            assert ("province", u.parent_code) in by
        elif u.level == "ward":
            parent = by[("district", u.parent_code)]
            assert parent.province_code == u.province_code


def test_codes() -> None:
    hcm = province_by_code("79", scheme="2021")
    assert hcm is not None and hcm.name == "Thành phố Hồ Chí Minh"
    assert province_by_code(79, scheme="2021") == hcm
    assert province_by_code("079", scheme="2021") == hcm
    assert province_by_code("02", scheme="2021").name == "Tỉnh Hà Giang"  # type: ignore[union-attr]
    assert province_by_code("02", scheme="2025") is None  # merged into Tuyên Quang
    q1 = district_by_code("760")
    assert q1 is not None and q1.name == "Quận 1" and q1.parent_code == "79"
    ben_nghe = ward_by_code("26740", scheme="2021")
    assert ben_nghe is not None and ben_nghe.name == "Phường Bến Nghé"
    assert ben_nghe.parent_code == "760" and ben_nghe.short_name == "Bến Nghé"
    assert ben_nghe.division_type == "phường"
    with pytest.raises(IdentityError) as exc:
        province_by_code("7x", scheme="2021")
    assert exc.value.code == "place_code"


@pytest.mark.parametrize("text", ["Tp HCM", "TP. Hồ Chí Minh", "Ho Chi Minh", "hồ chí minh",
                                  "Thành phố Hồ Chí Minh", "Sài Gòn", "TPHCM"])
def test_province_loose_names(text: str) -> None:
    for scheme in ("2021", "2025"):
        unit = find_province(text, scheme=scheme)  # type: ignore[arg-type]
        assert unit is not None and unit.code == "79"


@pytest.mark.parametrize(
    ("text", "code"),
    [("Hà Nội", "01"), ("HN", "01"), ("Thừa Thiên Huế", "46"), ("Huế", "46"),
     ("Daklak", "66"), ("Đắc Lắc", "66"), ("BRVT", "77"), ("Bà Rịa - Vũng Tàu", "77"),
     ("kon tum", "62"), ("T. Hà Giang", "02")],
)
def test_province_2021(text: str, code: str) -> None:
    unit = find_province(text, scheme="2021")
    assert unit is not None and unit.code == code


def test_district_and_ward_loose_names() -> None:
    q1 = find_district("Q.1", province="Tp HCM")
    assert q1 is not None and q1.code == "760"
    assert find_district("Quận 01", province="HCM") == q1
    w = find_ward("P. Bến Nghé", scheme="2021", district="Q.1", province="HCM")
    assert w is not None and w.code == "26740"
    assert find_ward("phuong ben nghe", scheme="2021") == w
    assert find_district("Quan Hóa") is not None  # a huyện whose name starts like "Quận"


def test_former_name_resolves_to_merged_unit() -> None:
    unit = find_ward("Phường Ngã Tư Sở", scheme="2021", province="Hà Nội")
    assert unit is not None and "Phường Ngã Tư Sở" in unit.former_names


def test_retired_units_are_kept() -> None:
    retired = [u for u in iter_admin_units("2021") if u.retired]
    assert retired and all(u.level in ("district", "ward") for u in retired)


def test_ambiguous_and_missing() -> None:
    with pytest.raises(IdentityError) as exc:
        find_ward("Phường 1", scheme="2021")
    assert exc.value.code == "place_ambiguous"
    assert len(search_units("Phường 1", scheme="2021", level="ward")) > 5
    assert find_province("Atlantis", scheme="2021") is None
    assert find_ward("Phường 1", scheme="2021", district="Quận 3", province="HCM") is not None


def test_2025_scheme() -> None:
    w = find_ward("Phường Sài Gòn", scheme="2025", province="Hồ Chí Minh")
    assert isinstance(w, AdminUnit) and w.scheme == "2025" and w.province_code == "79"
    with pytest.raises(IdentityError) as exc:
        search_units("Quận 1", scheme="2025", level="district")
    assert exc.value.code == "place_level"
    with pytest.raises(IdentityError) as exc:
        find_province("Hà Nội", scheme="2030")  # type: ignore[arg-type]
    assert exc.value.code == "place_scheme"


@pytest.mark.parametrize(
    ("address", "code"),
    [
        # as the chip card prints it: house, ward, district, province
        ("Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Nghệ An", "16942"),
        ("xom 2, xa nghia mai, huyen nghia dan, nghe an", "16942"),  # no diacritics, no case
        ("Thôn 1, Xã Nghĩa Mai, Tỉnh Nghệ An", "16942"),  # the district left out
        ("Số 3, P. Bến Nghé, Q.1, TP HCM", "26740"),  # abbreviations
        ("Số 3, Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội", "00001"),
    ],
)
def test_ward_of_address(address: str, code: str) -> None:
    unit = ward_of_address(address)
    assert unit is not None and (unit.level, unit.code) == ("ward", code)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "Xóm 3",  # no province
        "Số 1 Phố Giả, Hà Nội",  # a province but no ward
        "Phường 1, Hồ Chí Minh",  # many a "Phường 1" in the city, no district: not guessed
        "Xã Nghĩa Mai, Huyện Nghĩa Đàn, Tỉnh Hà Tĩnh",  # that district is not in that province
    ],
)
def test_ward_of_address_guesses_nothing(address: str) -> None:
    assert ward_of_address(address) is None
