"""Synthetic, real-looking identity data for the identity tests and benchmark.

Nothing here is a real person: names are random draws from common name syllables, ID numbers
have random trailing digits, addresses name no real house.
"""

from __future__ import annotations

import random

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đinh", "Lâm", "Mai", "Trịnh",
            "Trương", "Quách", "Lưu", "Tạ", "Khúc", "Thái", "Kiều", "Ứng", "Âu"]
MIDDLES = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Gia", "Xuân",
           "Thu", "Kim", "Bảo", "Hoài", "Khánh", "Quỳnh", "Mỹ", "Thùy", "Như", "Diệu", "Tường"]
GIVENS = ["An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Giang", "Hà", "Hải", "Hạnh", "Hiếu",
          "Hòa", "Hoàng", "Hùng", "Hương", "Huyền", "Khoa", "Lan", "Linh", "Long", "Mai",
          "Nam", "Nga", "Ngọc", "Nhung", "Phúc", "Phương", "Quang", "Quyên", "Sơn", "Tâm",
          "Thảo", "Thắng", "Thủy", "Trang", "Trung", "Tuấn", "Uyên", "Việt", "Xuân", "Yến",
          "Nguyệt", "Chiến", "Ước", "Khuê", "Quế", "Tuyết", "Huệ", "Oanh", "Thoa", "Khỏe",
          "Ngoãn", "Toàn", "Loan", "Thụy", "Hỏa", "Lũy", "Tỏa", "Ý", "Ánh", "Ấn", "Ẩn",
          "Ơn", "Ưng", "Đạt", "Giữ", "Quý", "Khuyến", "Nghĩa", "Đoan", "Xoan", "Chuyên"]
# New-style spellings (tone on the second vowel of an open oa/oe/uy) of some of the above.
NEW_STYLE = {"Hòa": "Hoà", "Thủy": "Thuỷ", "Thùy": "Thuỳ", "Khỏe": "Khoẻ", "Thụy": "Thuỵ",
             "Hỏa": "Hoả", "Lũy": "Luỹ", "Tỏa": "Toả"}


def name(rng: random.Random) -> str:
    """A display-form name, e.g. ``Trần Thị Thủy``."""
    parts = [rng.choice(SURNAMES)]
    parts += [rng.choice(MIDDLES) for _ in range(rng.choice((0, 1, 1, 1, 2)))]
    parts.append(rng.choice(GIVENS))
    return " ".join(parts)


def messy(rng: random.Random, clean: str) -> str:
    """The same name as data entry produces it: case, spacing, new-style tones."""
    words = [NEW_STYLE.get(w, w) if rng.random() < 0.5 else w for w in clean.split()]
    style = rng.random()
    if style < 0.25:
        words = [w.upper() for w in words]
    elif style < 0.5:
        words = [w.lower() for w in words]
    sep = rng.choice([" ", "  ", " \u00a0", "\t"])
    return rng.choice(["", " "]) + sep.join(words) + rng.choice(["", " ", "\n"])


def cccd(rng: random.Random, year: int | None = None, female: bool | None = None) -> str:
    """A 12-digit number with a real province prefix and random trailing digits."""
    from tiemchung.identity import CCCD_PROVINCES

    year = year if year is not None else rng.randint(1930, 2020)
    female = rng.random() < 0.5 if female is None else female
    century_digit = 2 * ((year - 1900) // 100) + (1 if female else 0)
    return (rng.choice(sorted(CCCD_PROVINCES)) + str(century_digit) + f"{year % 100:02d}"
            + f"{rng.randrange(10**6):06d}")


def id_text(rng: random.Random) -> str:
    """ID numbers as they arrive: spaced, dotted, 9-digit, and some broken ones."""
    r = rng.random()
    d = cccd(rng)
    if r < 0.4:
        return d
    if r < 0.55:
        return f"{d[:3]} {d[3:6]} {d[6:]}"
    if r < 0.65:
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}.{d[9:]}"
    if r < 0.75:
        return f"{rng.randrange(10**9):09d}"
    if r < 0.8:
        return d[1:]  # leading zero lost
    if r < 0.85:
        return d + "\r\n"
    if r < 0.9:
        return d[:5] + "O" + d[6:]  # letter O typed for zero
    if r < 0.95:
        return f"{d[:4]}-{d[4:]}"
    return ""


def dob_text(rng: random.Random) -> str:
    """Dates of birth in the formats found in Vietnamese spreadsheets."""
    y, m, d = rng.randint(1930, 2020), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([
        f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y}", f"{d}-{m}-{y % 100:02d}",
        f"{d:02d}{m:02d}{y}", f"{y}", f"{y}-{m:02d}", f"{m:02d}/{y}",
        f"ngày {d} tháng {m} năm {y}", f"tháng {m} năm {y}", f"năm {y}",
        str(rng.randint(11000, 44000)), f"{d:02d}/{m:02d}/{y} 00:00:00", f"{d}.{m}.{y}",
        f"31/02/{y}", "không rõ", f"{y}/{m}/{d}", f"ngày {d:02d}/{m:02d}/{y}",
    ])


def phone_text(rng: random.Random) -> str:
    """Phone numbers as typed: +84, spaced, dotted, 11-digit pre-2018, zero lost."""
    from tiemchung.identity import OLD_MOBILE_PREFIXES

    tail = f"{rng.randrange(10**7):07d}"
    r = rng.random()
    if r < 0.3:
        return rng.choice(["090", "091", "098", "086", "032", "070", "081", "056"]) + tail
    if r < 0.45:
        return "+84 " + rng.choice(["90", "98", "38"]) + tail[:3] + " " + tail[3:]
    if r < 0.6:
        return rng.choice(sorted(OLD_MOBILE_PREFIXES)) + tail
    if r < 0.7:
        return "84" + rng.choice(sorted(OLD_MOBILE_PREFIXES))[1:] + tail
    if r < 0.8:
        return rng.choice(["9", "3", "8"]) + rng.choice("0123456789") + tail  # zero lost
    if r < 0.9:
        return "024" + f"{rng.randrange(10**8):08d}"
    return rng.choice(["0412345678", "12345", "+1 415 555 0100", "09x1234567", "0084912345678"])
