"""Telex / VNI typing residue."""

from __future__ import annotations

import random

import pytest

from tiemchung.identity import decode_typing, fold_name, repair_typing

from .synth import name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyeenx Vawn Hufng", "Nguyễn Văn Hùng"),
        ("Nguye6n4 Va8n Hu2ng", "Nguyễn Văn Hùng"),
        ("Tra62n Thi5 Lan", "Trần Thị Lan"),
        ("Phamj Thij Thanh Thuyr", "Phạm Thị Thanh Thủy"),
        ("DDAOF VAWN", "ĐÀO VĂN"),
        ("Ddaof Quoocs", "Đào Quốc"),
        ("nguwowif", "người"),
        ("Nguoiwf", "Người"),
        ("Ho62ng Ly1", "Hồng Lý"),
        ("Giuwx", "Giữ"),
        ("Đặng Vawn", "Đặng Văn"),  # mixed: already Unicode + residue
        ("D9o62ng", "Đồng"),
    ],
)
def test_repairs(text: str, expected: str) -> None:
    assert repair_typing(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Nguyen Van A", "Hoa", "Xoong", "John Smith", "Ann Lee", "Mai Anh", "", "Nguyễn Văn Hùng",
     "Phòng 12", "Ksor H'Hen"],
)
def test_leaves_alone(text: str) -> None:
    assert repair_typing(text) == text


def test_decode_typing_word() -> None:
    assert decode_typing("Nguyeenx") == "Nguyễn"
    assert decode_typing("Nguyen") is None
    assert decode_typing("Smith") is None


def test_no_false_positive_on_folded_names() -> None:
    rng = random.Random(5)
    changed = []
    for _ in range(20000):
        folded = fold_name(name(rng)).title()
        if repair_typing(folded) != folded:
            changed.append(folded)
    assert changed == []
