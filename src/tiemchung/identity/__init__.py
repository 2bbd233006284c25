"""Vietnamese identity toolkit: ID numbers, chip-card QR, names, legacy encodings, dates, phones,
administrative units.

Pure functions: no I/O beyond reading data shipped with the packages (once, lazily), no
database, and nothing else of ``tiemchung`` is imported, so every other package can use it.
Every failure is an :class:`IdentityError` with a stable ``code`` and a message in Vietnamese
and English.

>>> from tiemchung.identity import parse_national_id, normalize_name, fold_name
>>> parse_national_id("001 090 012345").province_name
'Hà Nội'
>>> normalize_name("nguyễn văn hoà"), fold_name("Nguyễn Văn Hòa")
('Nguyễn Văn Hòa', 'nguyen van hoa')

The vectorised versions for millions of rows live in :mod:`tiemchung.identity.columnar`
(Arrow arrays, exact, the fastest) and :mod:`tiemchung.identity.bulk` (DuckDB macros); they are
not imported here so that importing this package stays cheap.
"""

from .dates import PartialDate, Precision, parse_dob
from .encodings import (
    decode_mojibake,
    decode_tcvn3,
    decode_vni,
    detect_encoding,
    repair_encoding,
    to_tcvn3,
    to_vni,
)
from .errors import IdentityError
from .ids import (
    CCCD_PROVINCES,
    Conflict,
    IdKind,
    NationalId,
    Sex,
    id_conflicts,
    parse_national_id,
    parse_sex,
)
from .letters import VIETNAMESE_LETTERS
from .names import fold_name, normalize_name, split_name
from .phones import OLD_MOBILE_PREFIXES, normalize_phone
from .places import (
    AdminUnit,
    Level,
    Scheme,
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
from .qr import CitizenCard, parse_cccd_qr
from .telex import decode_typing, repair_typing

__all__ = [
    "CCCD_PROVINCES",
    "OLD_MOBILE_PREFIXES",
    "VIETNAMESE_LETTERS",
    "AdminUnit",
    "CitizenCard",
    "Conflict",
    "IdKind",
    "IdentityError",
    "Level",
    "NationalId",
    "PartialDate",
    "Precision",
    "Scheme",
    "Sex",
    "decode_mojibake",
    "decode_tcvn3",
    "decode_typing",
    "decode_vni",
    "detect_encoding",
    "district_by_code",
    "find_district",
    "find_province",
    "find_ward",
    "fold_name",
    "id_conflicts",
    "iter_admin_units",
    "normalize_name",
    "normalize_phone",
    "parse_cccd_qr",
    "parse_dob",
    "parse_national_id",
    "parse_sex",
    "province_by_code",
    "repair_encoding",
    "repair_typing",
    "search_units",
    "split_name",
    "to_tcvn3",
    "to_vni",
    "ward_by_code",
    "ward_of_address",
]
