"""The second generator's own word lists: names, streets, hamlets, foreign names, vaccines.

Written for this generator and deliberately *not* taken from ``tiemchung.synth.tables``: an
evaluation whose names and frequencies came from the generator the model was tuned on would
measure how well the model learnt that generator. The weights are rough orders of magnitude
(Nguyễn about a third of the population, a long tail of rarer surnames), chosen by hand.
"""

from __future__ import annotations

from typing import Final

#: (surname, weight) — a heavy head and a long tail, as in the population.
SURNAMES: Final[tuple[tuple[str, int], ...]] = (
    ("Nguyễn", 320), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 45), ("Huỳnh", 35),
    ("Vũ", 35), ("Phan", 30), ("Võ", 30), ("Đặng", 22), ("Bùi", 22), ("Đỗ", 18),
    ("Hồ", 14), ("Ngô", 13), ("Dương", 11), ("Lý", 6), ("Đinh", 8), ("Trương", 7),
    ("Lương", 5), ("Đoàn", 6), ("Mai", 5), ("Trịnh", 5), ("Cao", 4), ("Lâm", 4),
    ("Tô", 3), ("Hà", 4), ("Tạ", 3), ("Quách", 2), ("Chu", 2), ("Kiều", 2), ("Khúc", 1),
    ("Thái", 2), ("Lưu", 3), ("Nghiêm", 1), ("Tăng", 1), ("Văn", 2), ("Châu", 2), ("Đào", 5),
    ("Triệu", 2), ("Âu", 1), ("Ông", 1), ("Từ", 1), ("Giáp", 1), ("La", 1),
)

#: Middle names by sex; "" stands for none (two-word names are common among older people).
MIDDLE: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "M": (
        ("Văn", 160), ("Đức", 45), ("Minh", 45), ("Quang", 35), ("Hữu", 30), ("Công", 25),
        ("Thanh", 25), ("Xuân", 12), ("Ngọc", 15), ("Đình", 20), ("Trọng", 12), ("Anh", 18),
        ("Quốc", 18), ("Tuấn", 10), ("Hoàng", 12), ("Gia", 10), ("Bảo", 8), ("Thế", 8),
        ("Duy", 10), ("Mạnh", 6), ("Tiến", 5), ("Nhật", 6), ("", 25),
    ),
    "F": (
        ("Thị", 220), ("Ngọc", 40), ("Thu", 25), ("Thanh", 25), ("Minh", 20), ("Kim", 18),
        ("Hồng", 15), ("Phương", 12), ("Mai", 10), ("Bích", 8), ("Khánh", 12), ("Bảo", 10),
        ("Diệu", 6), ("Hoài", 6), ("Tường", 4), ("Quỳnh", 8), ("Mỹ", 8), ("Lan", 5),
        ("Thúy", 6), ("Hải", 5), ("", 20),
    ),
}

#: Given names by sex.
GIVEN: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "M": (
        ("Anh", 30), ("Hùng", 28), ("Dũng", 25), ("Tuấn", 25), ("Nam", 24), ("Long", 20),
        ("Hải", 20), ("Minh", 22), ("Thắng", 14), ("Cường", 15), ("Hiếu", 14), ("Phúc", 12),
        ("Khoa", 10), ("Trung", 14), ("Sơn", 14), ("Tùng", 12), ("Thành", 16), ("Đạt", 14),
        ("Huy", 18), ("Bình", 12), ("Quân", 12), ("Vinh", 10), ("Lộc", 8), ("Phong", 10),
        ("Tâm", 8), ("Khang", 8), ("Nghĩa", 8), ("Toàn", 8), ("Thịnh", 7), ("Hưng", 10),
        ("Đông", 6), ("Kiên", 7), ("Lâm", 6), ("Tài", 7), ("Hoàng", 8), ("Việt", 9),
        ("Quang", 8), ("Tiến", 7), ("Hòa", 7), ("Thuận", 5), ("Bảo", 8), ("Duy", 8),
        ("Khôi", 6), ("Đức", 9), ("Trí", 7), ("Lợi", 4), ("Nhân", 6), ("Thiện", 5),
        ("Trường", 6), ("Chiến", 5), ("Quyết", 4), ("Sang", 4), ("Phát", 5), ("Vũ", 6),
        ("Hậu", 4), ("Luân", 3), ("Tín", 4), ("Tú", 5), ("Khải", 3), ("Đăng", 4),
    ),
    "F": (
        ("Linh", 28), ("Hương", 25), ("Lan", 22), ("Trang", 25), ("Hoa", 18), ("Anh", 22),
        ("Ngọc", 14), ("Thảo", 20), ("Hằng", 18), ("Phương", 16), ("Mai", 16), ("Vân", 15),
        ("Yến", 12), ("Huyền", 16), ("Nhung", 10), ("Hà", 15), ("Thủy", 14), ("Nga", 12),
        ("Loan", 9), ("Dung", 10), ("Trinh", 8), ("Hạnh", 11), ("Oanh", 7), ("Hiền", 10),
        ("Quyên", 7), ("Tuyết", 7), ("Nhi", 12), ("Vy", 10), ("Chi", 9), ("Ánh", 7),
        ("Diễm", 5), ("Giang", 9), ("Hồng", 9), ("Nhàn", 6), ("Tâm", 7), ("Uyên", 7),
        ("Xuân", 6), ("Yên", 3), ("Thơ", 4), ("Liên", 7), ("Ly", 6), ("Châu", 5),
        ("My", 6), ("Ngân", 8), ("Quỳnh", 9), ("Thư", 8), ("Trâm", 6), ("Hậu", 4),
        ("Duyên", 6), ("Đào", 4), ("Lệ", 4), ("Thắm", 4), ("Diệp", 3), ("Khuê", 2),
    ),
}

#: Street names for urban addresses (a house number and often an alley go in front).
STREETS: Final = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Hùng Vương", "Điện Biên Phủ", "Phan Đình Phùng", "Nguyễn Huệ", "Bạch Đằng", "Lạc Long Quân",
    "Trường Chinh", "Võ Thị Sáu", "Nguyễn Văn Cừ", "Tôn Đức Thắng", "Cách Mạng Tháng Tám",
    "Hoàng Diệu", "Ngô Quyền", "Phạm Văn Đồng", "Lê Duẩn", "Nguyễn Chí Thanh", "Yết Kiêu",
    "Chu Văn An", "Lê Thánh Tông", "Đinh Tiên Hoàng", "Pasteur", "Kim Mã", "Nguyễn Thái Học",
    "Phan Chu Trinh", "Trần Phú", "Tô Hiến Thành", "Huỳnh Thúc Kháng", "Lê Văn Sỹ",
)

#: Foreign residents (passport holders): (family name, given name, sex). Written upper case in
#: records, family name first or last as the passport's machine-readable zone suggests.
FOREIGN: Final = (
    ("KIM", "MIN JUN", "M"), ("PARK", "JI HOON", "M"), ("LEE", "SEO YEON", "F"),
    ("TANAKA", "HIROSHI", "M"), ("SATO", "YUKI", "F"), ("SUZUKI", "KENJI", "M"),
    ("WANG", "WEI", "M"), ("LI", "NA", "F"), ("ZHANG", "YONG", "M"), ("CHEN", "JING", "F"),
    ("SMITH", "JOHN", "M"), ("JOHNSON", "EMILY", "F"), ("MÜLLER", "THOMAS", "M"),
    ("DUBOIS", "CLAIRE", "F"), ("NOVAK", "PETRA", "F"), ("SOK", "CHANTHA", "M"),
    ("SOUVANNA", "KHAMLA", "F"), ("SANTOS", "MARIA", "F"), ("IVANOV", "SERGEI", "M"),
    ("NGUYEN", "KEVIN", "M"), ("TRAN", "JESSICA", "F"), ("SINGH", "ARJUN", "M"),
)
#: Passport prefixes of the foreigners' countries (letters, then digits, as their MRZ shows).
PASSPORT_PATTERNS: Final = (("M", 8), ("TK", 7), ("E", 8), ("G", 8), ("K", 8), ("P", 7),
                            ("C", 7), ("N", 7), ("X", 8), ("EA", 7))

#: Vaccine codes and the usual gap (days) to the next dose.
VACCINES: Final = (("AZ", 70), ("PFIZER", 28), ("MODERNA", 28), ("VERO", 28), ("SPUTNIK", 21))
