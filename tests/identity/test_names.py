"""Names: display form, matching key, split (synthetic names)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from tiemchung.identity import IdentityError, fold_name, normalize_name, split_name

from .synth import NEW_STYLE, messy, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nguyễn văn an", "Nguyễn Văn An"),
        ("  NGUYỄN   THỊ  THUỶ ", "Nguyễn Thị Thủy"),
        ("Lê Hoà", "Lê Hòa"),
        ("Lê Hòa", "Lê Hòa"),
        ("trần khoẻ", "Trần Khỏe"),
        ("đặng thuỵ", "Đặng Thụy"),
        ("ĐỖ ĐỨC", "Đỗ Đức"),
        ("hồ qúy", "Hồ Quý"),  # tone typed on the u of qu
        ("Phạm Hòang", "Phạm Hoàng"),  # tone on the wrong vowel of a closed rhyme
        ("vũ ngoaì", "Vũ Ngoài"),
        ("lý khuỷu", "Lý Khuỷu"),
        ("trương nguyêñ", "Trương Nguyêñ"),  # ñ is not a Vietnamese tone: kept as typed
        ("h'hen niê", "H'Hen Niê"),
        ("y-moan ênuôl", "Y-Moan Ênuôl"),
        ("Nguyen Van A", "Nguyen Van A"),
        ("", ""),
        ("\t\n", ""),
        ("mai  anh\u00a0thư", "Mai Anh Thư"),
    ],
)
def test_normalize_name(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


def test_normalize_nfd_input() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Thủy")
    assert nfd != "Nguyễn Thị Thủy"
    assert normalize_name(nfd) == "Nguyễn Thị Thủy"


def test_style_variants_become_one_string() -> None:
    for old, new in NEW_STYLE.items():
        assert normalize_name(new) == old
        assert normalize_name(old) == old
        assert normalize_name(new.upper()) == old


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("ĐẶNG  THỊ THUỶ", "dang thi thuy"),
        ("Đỗ Đức Được", "do duc duoc"),
        ("Ưng Ơn Ấn", "ung on an"),
        (unicodedata.normalize("NFD", "Lê Hòa"), "le hoa"),
        ("  Ngô\tKiều ", "ngo kieu"),
        ("François Müller", "francois muller"),
        ("Nguyen Van A", "nguyen van a"),
        ("", ""),
    ],
)
def test_fold_name(text: str, expected: str) -> None:
    assert fold_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nguyễn thị minh khai", ("Nguyễn", "Thị Minh", "Khai")),
        ("Lê An", ("Lê", "", "An")),
        ("An", ("", "", "An")),
        ("tôn thất thuyết", ("Tôn Thất", "", "Thuyết")),
        ("Âu Dương Phong Vân", ("Âu Dương", "Phong", "Vân")),
        ("Công Tằng Tôn Nữ Thị Hoà", ("Công Tằng Tôn Nữ", "Thị", "Hòa")),
        ("Tôn Thất", ("Tôn", "", "Thất")),  # nothing left after the compound: plain split
    ],
)
def test_split_name(text: str, expected: tuple[str, str, str]) -> None:
    assert split_name(text) == expected


def test_split_empty() -> None:
    with pytest.raises(IdentityError) as exc:
        split_name("   ")
    assert exc.value.code == "name_empty"


@pytest.mark.parametrize("fn", [normalize_name, fold_name, split_name])
def test_non_text(fn: object) -> None:
    with pytest.raises(IdentityError) as exc:
        fn(None)  # type: ignore[operator]
    assert exc.value.code == "not_text"


def test_generated_messy_names_normalise_to_clean_form() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        clean = name(rng)
        assert normalize_name(messy(rng, clean)) == clean
        assert fold_name(messy(rng, clean)) == fold_name(clean)
