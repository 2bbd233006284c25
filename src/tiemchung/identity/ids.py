"""National ID numbers: the 12-digit personal identification number (CCCD) and the 9-digit CMND.

Structure of the 12-digit number (Điều 7, Thông tư 07/2016/TT-BCA; kept by Thông tư
59/2021/TT-BCA and the 2023 Law on Identification):

========  ==========================================================================
digits    meaning
========  ==========================================================================
1–3       province of birth registration (Phụ lục 1, :data:`CCCD_PROVINCES`), or a
          country code when the birth was registered abroad (first digit not 0)
4         century and sex: 0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s, ...
5–6       last two digits of the birth year
7–12      random; **there is no check digit**, so a typo cannot be detected locally
========  ==========================================================================

The province codes follow the pre-2025 63-province GSO numbering. The 2025 province codes reuse
some of those numbers for *different* (merged) provinces, so an ID prefix is only ever read with
:data:`CCCD_PROVINCES`, never as a current province code.

The 9-digit CMND carries no birth year or sex; its first digits identify the issuing police
office by an older table that this module does not decode.
"""

from __future__ import annotations

import datetime as _dt
from typing import Final, Literal, NamedTuple

from .errors import IdentityError, require_text

Sex = Literal["male", "female"]
IdKind = Literal["cccd", "cmnd"]

#: Phụ lục 1, Thông tư 07/2016/TT-BCA: code of the province of birth registration -> name.
CCCD_PROVINCES: Final[dict[str, str]] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
    "008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
    "014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
    "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
    "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
    "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
    "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp",
    "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

#: Characters tolerated (and removed) inside an ID number: spaces, line ends, dots, dashes.
ID_SEPARATORS: Final = " \t\r\n\u00a0\u2009\u202f.-\u2010\u2011\u2012\u2013\u2014"
_STRIP: Final = str.maketrans("", "", ID_SEPARATORS)


class NationalId(NamedTuple):
    """A syntactically valid ID number. Build it with :func:`parse_national_id`.

    >>> nid = parse_national_id("079 1 85 012345")
    >>> nid.kind, nid.province_name, nid.sex, nid.century, nid.birth_year_2d
    ('cccd', 'Hồ Chí Minh', 'female', 1900, 85)
    >>> nid.birth_year_matches(1985), nid.birth_year_matches(2085)
    (True, False)
    """

    digits: str
    kind: IdKind

    def __str__(self) -> str:
        return self.digits

    @property
    def registered_abroad(self) -> bool:
        """12-digit number whose prefix is a country code (birth registered abroad)."""
        return self.kind == "cccd" and self.digits[0] != "0"

    @property
    def province_code(self) -> str | None:
        """3-digit code of the province of birth registration (old 63-province table)."""
        return self.digits[:3] if self.kind == "cccd" and self.digits[0] == "0" else None

    @property
    def country_code(self) -> str | None:
        """3-digit country code when the birth was registered abroad."""
        return self.digits[:3] if self.registered_abroad else None

    @property
    def province_name(self) -> str | None:
        """Name of the province of birth registration, ``None`` if unknown or abroad."""
        code = self.province_code
        return CCCD_PROVINCES.get(code) if code else None

    @property
    def sex(self) -> Sex | None:
        """Sex encoded in digit 4 (``None`` for a CMND)."""
        if self.kind != "cccd":
            return None
        return "female" if int(self.digits[3]) % 2 else "male"

    @property
    def century(self) -> int | None:
        """First year of the birth century encoded in digit 4 (1900, 2000, ...)."""
        if self.kind != "cccd":
            return None
        return 1900 + 100 * (int(self.digits[3]) // 2)

    @property
    def birth_year_2d(self) -> int | None:
        """Last two digits of the birth year (digits 5–6)."""
        return int(self.digits[4:6]) if self.kind == "cccd" else None

    @property
    def birth_year(self) -> int | None:
        """Full birth year (century + two digits), ``None`` for a CMND."""
        c, y = self.century, self.birth_year_2d
        return None if c is None or y is None else c + y

    def birth_year_matches(self, year: int) -> bool:
        """Whether ``year`` agrees with the ID; always ``True`` for a CMND (nothing to check)."""
        by = self.birth_year
        return by is None or by == year


def parse_national_id(text: str) -> NationalId:
    """Parse a 12-digit CCCD or 9-digit CMND number.

    Spaces, dots and dashes inside are tolerated (``001.090.012.345``); anything else is an
    error with a reason. A CCCD with an unknown province prefix still parses (the verifier sees
    it through :func:`id_conflicts`); there is no check digit to verify.

    >>> parse_national_id(" 001-090-012345\\r\\n")
    NationalId(digits='001090012345', kind='cccd')

    Raises :class:`IdentityError` with code ``not_text``, ``id_empty``, ``id_bad_char``,
    ``id_length_11`` (a leading zero lost in a spreadsheet) or ``id_length``.
    """
    if type(text) is not str:
        text = require_text(text)
    d = text.translate(_STRIP)
    if d.isdigit() and d.isascii():
        n = len(d)
        if n == 12:
            return NationalId(d, "cccd")
        if n == 9:
            return NationalId(d, "cmnd")
        if n == 11:
            raise IdentityError("id_length_11")
        raise IdentityError("id_length", length=n)
    if not d:
        raise IdentityError("id_empty")
    bad = next(c for c in d if not ("0" <= c <= "9"))
    raise IdentityError("id_bad_char", char=bad)


class Conflict(NamedTuple):
    """One disagreement between an ID number and the other identity fields."""

    code: str  #: ``birth_year``, ``century``, ``sex`` or ``unknown_province``
    message_vi: str
    message_en: str


_SEX_WORDS: Final[dict[str, Sex]] = {
    "nam": "male", "m": "male", "male": "male", "trai": "male", "man": "male",
    "nu": "female", "f": "female", "female": "female", "gai": "female", "woman": "female",
}


def parse_sex(text: str) -> Sex:
    """``"male"``/``"female"`` from ``Nam``/``Nữ``/``M``/``F``/``male``/``female`` (any case).

    >>> parse_sex("Nữ"), parse_sex(" nam ")
    ('female', 'male')

    Raises :class:`IdentityError`: ``not_text``, ``sex_invalid``; digit codes are refused on
    purpose, since sources disagree on whether 1 means male or female.
    """
    from .names import fold_name

    key = fold_name(require_text(text))
    try:
        return _SEX_WORDS[key]
    except KeyError:
        raise IdentityError("sex_invalid", text=text) from None


def id_conflicts(national_id: NationalId | str, dob: object = None,
                 sex: str | None = None) -> list[Conflict]:
    """What a verifier flags before saving: the ID against date of birth and sex.

    ``dob`` may be a :class:`~tiemchung.identity.PartialDate`, a ``date``, a year (``int``) or
    text for :func:`~tiemchung.identity.parse_dob`; ``sex`` may be anything :func:`parse_sex`
    accepts. Missing values are not checked. Codes: ``century`` (the ID's century digit says
    another century), ``birth_year`` (the two year digits differ), ``sex``,
    ``unknown_province`` (a 0-prefix not in Phụ lục 1). A CMND carries none of these, so it
    never conflicts.

    >>> [c.code for c in id_conflicts("001090012345", dob="05/03/1991", sex="Nữ")]
    ['birth_year', 'sex']

    Raises :class:`IdentityError` only for an unparseable ID, date or sex: the codes of
    :func:`parse_national_id` (``not_text``, ``id_*``), of
    :func:`~tiemchung.identity.parse_dob` (``dob_*``) and of :func:`parse_sex`
    (``sex_invalid``).
    """
    nid = national_id if isinstance(national_id, NationalId) else parse_national_id(national_id)
    out: list[Conflict] = []
    if nid.kind != "cccd":
        return out
    year = _year_of(dob)
    if year is not None:
        if nid.century is not None and year - year % 100 != nid.century:
            out.append(Conflict(
                "century", f"Chữ số thế kỷ của số định danh ({nid.century}) khác năm sinh {year}",
                f"The ID's century digit ({nid.century}s) disagrees with birth year {year}"))
        if year % 100 != nid.birth_year_2d:
            out.append(Conflict(
                "birth_year", f"Số định danh ghi năm sinh ..{nid.digits[4:6]}, hồ sơ ghi {year}",
                f"The ID encodes birth year ..{nid.digits[4:6]}, the record says {year}"))
    if sex is not None and nid.sex is not None:
        given = parse_sex(sex)
        if given != nid.sex:
            vi = {"male": "nam", "female": "nữ"}
            out.append(Conflict(
                "sex", f"Số định danh ghi giới tính {vi[nid.sex]}, hồ sơ ghi {vi[given]}",
                f"The ID encodes sex {nid.sex}, the record says {given}"))
    if nid.province_code is not None and nid.province_name is None:
        out.append(Conflict(
            "unknown_province", f"Mã tỉnh {nid.province_code} không có trong Phụ lục 1",
            f"Province code {nid.province_code} is not in Annex 1 (Circular 07/2016)"))
    return out


def _year_of(dob: object) -> int | None:
    if dob is None:
        return None
    if isinstance(dob, bool):
        raise IdentityError("dob_format", text=str(dob))
    if isinstance(dob, int):
        if not 1 <= dob <= 9999:  # a year; and str() refuses ints over 4,300 digits
            raise IdentityError("dob_range", year=dob if abs(dob) < 10**12 else "…")
        return dob
    if isinstance(dob, _dt.date):
        return dob.year
    year = getattr(dob, "year", None)
    if isinstance(year, int):  # PartialDate
        return year
    from .dates import parse_dob

    return parse_dob(require_text(dob)).year
