"""One exception family for the whole toolkit: :class:`IdentityError`.

Every failure of a public function of :mod:`tiemchung.identity` is an ``IdentityError`` with a
stable machine-readable :attr:`~IdentityError.code` (callers branch on it, and it is what gets
stored in reconciliation reports) and a message in Vietnamese and English (front-line staff read
Vietnamese; logs and reviewers read English). Nothing else escapes: a ``ValueError`` from
``datetime`` or an ``IndexError`` from a malformed payload is converted at the boundary.

>>> try:
...     raise IdentityError("id_length", length=10)
... except IdentityError as exc:
...     print(exc.code)
...     print(exc.message_en)
id_length
An ID number has 9 or 12 digits (got 10)
"""

from __future__ import annotations

from typing import Any

# code -> (Vietnamese template, English template). Templates use str.format(**params).
MESSAGES: dict[str, tuple[str, str]] = {
    "not_text": ("Dữ liệu phải là chuỗi ký tự", "Input must be text"),
    # ID numbers
    "id_empty": ("Thiếu số định danh", "The ID number is empty"),
    "id_bad_char": (
        "Số định danh chứa ký tự không hợp lệ {char!r}",
        "The ID number contains an invalid character {char!r}",
    ),
    "id_length": (
        "Số định danh phải có 9 hoặc 12 chữ số (nhận {length})",
        "An ID number has 9 or 12 digits (got {length})",
    ),
    "id_length_11": (
        "Số định danh có 11 chữ số: có thể Excel đã xoá số 0 ở đầu",
        "The ID number has 11 digits: a spreadsheet may have dropped its leading zero",
    ),
    # chip-card QR
    "qr_not_utf8": ("Mã QR không phải văn bản UTF-8 hợp lệ", "The QR payload is not valid UTF-8"),
    "qr_field_count": (
        "Mã QR phải có ít nhất 7 trường, nhận {count}",
        "The QR payload needs at least 7 fields, got {count}",
    ),
    "qr_id_kind": (
        "Số định danh trên thẻ chip phải có 12 chữ số",
        "The ID number on a chip card must have 12 digits",
    ),
    "qr_name_empty": ("Họ tên trong mã QR bị trống", "The name in the QR payload is empty"),
    "qr_old_id": ("Số CMND cũ trong mã QR không hợp lệ", "The old ID number in the QR is invalid"),
    "qr_sex": ("Giới tính trong mã QR phải là Nam hoặc Nữ", "QR sex must be Nam or Nữ"),
    "qr_dob": ("Ngày sinh trong mã QR không hợp lệ {value!r}",
               "Invalid date of birth in the QR payload {value!r}"),
    "qr_issue_date": ("Ngày cấp trong mã QR không hợp lệ {value!r}",
                      "Invalid issue date in the QR payload {value!r}"),
    "qr_issue_before_birth": (
        "Ngày cấp trước ngày sinh", "The issue date is before the date of birth"),
    "qr_id_conflict": (
        "Số định danh mâu thuẫn với {what_vi} trong mã QR",
        "The ID number contradicts the {what_en} in the QR payload",
    ),
    # names and encodings
    "name_empty": ("Họ tên trống", "The name is empty"),
    "encode_char": (
        "Ký tự {char!r} không mã hoá được sang {encoding}",
        "Character {char!r} cannot be encoded in {encoding}",
    ),
    # dates
    "dob_empty": ("Thiếu ngày sinh", "The date of birth is empty"),
    "dob_format": ("Không hiểu ngày sinh {text!r}", "Unrecognised date of birth {text!r}"),
    "dob_invalid": ("Ngày sinh không tồn tại: {text!r}", "Impossible date of birth: {text!r}"),
    "dob_range": (
        "Năm sinh {year} ngoài khoảng cho phép", "Birth year {year} is out of range"),
    "dob_future": ("Ngày sinh ở tương lai: {text!r}", "Date of birth in the future: {text!r}"),
    "dob_precision": (
        "Ngày sinh {text} chưa đủ ngày tháng", "Date of birth {text} has no day or month"),
    # phones
    "phone_empty": ("Thiếu số điện thoại", "The phone number is empty"),
    "phone_bad_char": (
        "Số điện thoại chứa ký tự không hợp lệ {char!r}",
        "The phone number contains an invalid character {char!r}",
    ),
    "phone_length": (
        "Số điện thoại có số chữ số không hợp lệ ({length})",
        "The phone number has an invalid number of digits ({length})",
    ),
    "phone_prefix": (
        "Đầu số điện thoại không hợp lệ {prefix!r}", "Invalid phone number prefix {prefix!r}"),
    "phone_foreign": (
        "Số điện thoại nước ngoài (+{cc})", "Foreign phone number (+{cc})"),
    # sex
    "sex_invalid": ("Không hiểu giới tính {text!r}", "Unrecognised sex {text!r}"),
    # places
    "place_scheme": (
        "Hệ đơn vị hành chính không hợp lệ {scheme!r} (dùng '2021' hoặc '2025')",
        "Unknown administrative scheme {scheme!r} (use '2021' or '2025')",
    ),
    "place_level": (
        "Hệ {scheme} không có cấp {level}", "Scheme {scheme} has no {level} level"),
    "place_ambiguous": (
        "Tên {text!r} khớp nhiều đơn vị: {codes}", "Name {text!r} matches several units: {codes}"),
    "place_code": ("Mã đơn vị hành chính không hợp lệ {value!r}", "Invalid unit code {value!r}"),
}


class IdentityError(ValueError):
    """The only exception raised by :mod:`tiemchung.identity`.

    Attributes:
        code: stable identifier such as ``"id_length"`` or ``"dob_invalid"``; safe to store and
            to branch on (the messages may be reworded, the codes will not change).
        message_vi: the reason in Vietnamese, for staff.
        message_en: the reason in English, for logs and reviewers.
        params: the values interpolated into the messages (e.g. ``{"length": 10}``).

    ``str(error)`` gives both messages, Vietnamese first. It subclasses ``ValueError`` so code
    that already catches ``ValueError`` around parsing keeps working.
    """

    code: str
    message_vi: str
    message_en: str
    params: dict[str, Any]

    def __init__(self, code: str, **params: Any) -> None:
        vi, en = MESSAGES.get(code, ("Lỗi dữ liệu định danh", "Identity data error"))
        try:
            self.message_vi = vi.format(**params)
            self.message_en = en.format(**params)
        # a template field was not supplied, or a value cannot be shown (str() refuses ints of
        # over 4,300 digits): keep the raw text rather than fail while reporting a failure
        except (KeyError, IndexError, ValueError):
            self.message_vi, self.message_en = vi, en
        self.code = code
        self.params = params
        super().__init__(f"{self.message_vi} / {self.message_en}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes (bulk workers)
        return (_rebuild, (self.code, self.params))


def _rebuild(code: str, params: dict[str, Any]) -> IdentityError:
    return IdentityError(code, **params)


def require_text(value: object) -> str:
    """Return ``value`` if it is a ``str``; raise ``IdentityError('not_text')`` otherwise."""
    if not isinstance(value, str):
        raise IdentityError("not_text")
    return value
