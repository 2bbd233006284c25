"""What a reviewer reads: field-by-field comparison and the reconciliation's reasons in words.

The reconciliation writes its explanation compactly (``id 1 digit wrong +9.1; name exact
+13.3tf; runner-up P-2 +4.0``, see :func:`tiemchung.reconcile.decide.explanation_sql`) because
it is repeated on millions of rows. A commune health worker needs sentences, so each segment is
turned into Vietnamese and English here. A segment this module does not know is kept as it was
written (``known=False``) rather than dropped: the reviewer still sees everything.

Fields are compared after the identity toolkit's cleaning, so a difference of formatting alone
(upper case, extra spaces, ``12/04/1985`` against ``1985-04-12``, ``+84`` phones) is not marked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tiemchung.identity import IdentityError, normalize_name
from tiemchung.registry.doses.entry import REASONS
from tiemchung.registry.doses.rules import explain_segment
from tiemchung.registry.doses.verify import Typed, mismatches
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.fields import clean_dob, clean_id, clean_phone, clean_sex
from tiemchung.registry.scope import Actor

#: The person fields shown side by side, in the order a reviewer reads them.
COMPARED = ("full_name", "national_id", "dob", "sex", "phone", "ward_code", "address")

#: Vietnamese and English label of each field (spreadsheet headers, sentences), in the
#: words the desk uses (registry/doses/verify.py: "Số định danh", "Phường/xã"): one field, one name.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "full_name": ("Họ và tên", "full name"),
    "national_id": ("Số định danh", "ID number"),
    "dob": ("Ngày sinh", "date of birth"),
    "sex": ("Giới tính", "sex"),
    "phone": ("Số điện thoại", "phone"),
    "ward_code": ("Phường/xã", "ward"),
    "address": ("Địa chỉ", "address"),
}
#: The labels these fields had before (spreadsheets exported then still import).
OLD_FIELD_LABELS: dict[str, str] = {"national_id": "Số CCCD", "ward_code": "Mã xã/phường"}

#: What each kind of item is, in words (a spreadsheet's "Loại", the API's readers). A kind
#: not listed here (one added later, such as a dose-rule warning) reads as its code in words.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "review": ("cần đối chiếu", "to be checked"),
    "not_found": ("không tìm thấy trong sổ dân cư", "not found in the register"),
    "unverified": ("chưa xác minh", "unverified"),
    "ticket": ("phản ánh của người dân", "a citizen's report"),
}

#: The register's sex codes in words.
SEX_LABELS: dict[str, tuple[str, str]] = {"M": ("Nam", "male"), "F": ("Nữ", "female")}


def kind_label(kind: str | None) -> tuple[str, str]:
    """(Vietnamese, English) words for an item's kind; an unknown code as words."""
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    words = (kind or "").replace("_", " ")
    return words, words


# The reconciliation's short field names (decide.SHORT) and its own long ones.
_FIELD_OF = {
    "id": "national_id",
    "name": "full_name",
    "ward": "ward_code",
    "national_id": "national_id",
    "full_name": "full_name",
    "ward_code": "ward_code",
    "dob": "dob",
    "sex": "sex",
    "phone": "phone",
}


def _safe(clean: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """A cleaner that falls back to the trimmed text: an uncleanable value is compared as
    typed (and then usually differs), never hidden."""

    def run(value: str) -> str | None:
        try:
            return clean(value)
        except ServiceError:
            return " ".join(value.split()).casefold()

    return run


def _name(value: str) -> str | None:
    try:
        return normalize_name(value).casefold()
    except IdentityError:  # not a name the toolkit can read: compare as typed
        return " ".join(value.split()).casefold()


_NORMALISE: dict[str, Callable[[str], str | None]] = {
    "full_name": _name,
    "national_id": lambda v: clean_id(v).value,
    "dob": _safe(clean_dob),
    "sex": _safe(clean_sex),
    "phone": _safe(clean_phone),
    "ward_code": lambda v: v.strip() or None,
    "address": lambda v: " ".join(v.split()).casefold() or None,
}


def normalised(field: str, value: Any) -> str | None:
    """The comparable form of a field's value (None when empty)."""
    if value is None or not str(value).strip():
        return None
    return _NORMALISE.get(field, lambda v: v.strip())(str(value))


def differs(field: str, a: Any, b: Any) -> bool:
    """True when two values of ``field`` differ in substance, not only in formatting.

    A value on one side only counts as a difference here (a citizen proposing a phone where
    there was none changes something); :func:`compare` tells the reviewer which case it is.
    """
    return normalised(field, a) != normalised(field, b)


def compare(field: str, record: Any, register: Any) -> str:
    """``same`` | ``differs`` | ``missing_record`` | ``missing_register`` | ``missing``:
    a reviewer treats "the site did not type a phone" differently from "another phone"."""
    a, b = normalised(field, record), normalised(field, register)
    if a is None and b is None:
        return "missing"
    if a is None:
        return "missing_record"
    if b is None:
        return "missing_register"
    return "same" if a == b else "differs"


@dataclass(frozen=True)
class Reason:
    """One segment of the explanation, in words."""

    code: str  # e.g. "national_id:1 digit wrong", "runner-up", "exact pass", "raw"
    vi: str
    en: str
    weight: float | None = None
    known: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "vi": self.vi,
            "en": self.en,
            "weight": self.weight,
            "known": self.known,
        }


# (field, level label) -> (Vietnamese, English)
_LEVELS: dict[tuple[str, str], tuple[str, str]] = {
    ("national_id", "exact"): ("Số định danh trùng khớp", "the ID number matches"),
    ("national_id", "old ID"): (
        "Số CMND cũ trùng khớp với sổ dân cư",
        "the old (CMND) ID number matches the register",
    ),
    ("national_id", "1 digit wrong"): (
        "Số định danh khác một chữ số",
        "the ID number differs by one digit",
    ),
    ("national_id", "2 digits swapped"): (
        "Số định danh bị đảo hai chữ số liền nhau",
        "two adjacent digits of the ID number are swapped",
    ),
    ("national_id", "household ID"): (
        "Số định danh là của một người cùng địa chỉ (người nhà)",
        "the ID number belongs to someone at the same address (a relative)",
    ),
    ("national_id", "different"): ("Số định danh khác hẳn", "the ID number is different"),
    ("full_name", "exact"): ("Họ và tên trùng khớp", "the full name matches"),
    ("full_name", "middle dropped"): (
        "Họ và tên khớp nhưng thiếu hoặc thừa tên đệm",
        "the name matches but a middle name is missing or added",
    ),
    ("full_name", "different"): ("Họ và tên khác", "the full name is different"),
    ("dob", "exact"): ("Ngày sinh trùng khớp", "the date of birth matches"),
    ("dob", "same partial"): (
        "Ngày sinh khớp ở mức đã biết (chỉ năm hoặc tháng/năm)",
        "the date of birth matches as far as it is known (year or month/year only)",
    ),
    ("dob", "d/m swapped"): (
        "Ngày sinh bị đảo ngày và tháng",
        "day and month of the date of birth are swapped",
    ),
    ("dob", "placeholder"): (
        "Ngày sinh là ngày điền tạm (01/01 hoặc chỉ năm), cùng năm sinh",
        "the date of birth is a placeholder (1 January or year only), same year",
    ),
    ("dob", "compatible"): (
        "Ngày sinh phù hợp (một bên thiếu ngày hoặc tháng)",
        "the dates of birth agree where both are known",
    ),
    ("dob", "year typo"): (
        "Năm sinh lệch một chữ số hoặc một năm",
        "the birth year differs by one digit or one year",
    ),
    ("dob", "different"): ("Ngày sinh khác", "the date of birth is different"),
    ("sex", "exact"): ("Giới tính trùng khớp", "the sex matches"),
    ("sex", "different"): ("Giới tính khác", "the sex is different"),
    ("ward_code", "exact"): ("Cùng xã/phường", "the same ward"),
    ("ward_code", "same district"): (
        "Khác xã/phường nhưng cùng quận/huyện",
        "another ward of the same district",
    ),
    ("ward_code", "same province"): (
        "Khác quận/huyện nhưng cùng tỉnh",
        "another district of the same province",
    ),
    ("ward_code", "different"): ("Khác tỉnh", "another province"),
    ("phone", "exact"): ("Số điện thoại trùng khớp", "the phone number matches"),
    ("phone", "different"): ("Số điện thoại khác", "the phone number is different"),
}

_COMPARISON = re.compile(r"^(?P<short>[a-z_]+) (?P<label>.+?) (?P<w>[+-]\d+(?:\.\d+)?)(?P<tf>tf)?$")
_RUNNER_UP = re.compile(r"^runner-up (?P<pid>\S+) (?P<w>[+-]\d+(?:\.\d+)?)$")
_JW = re.compile(r"^jw>=(?P<t>[0-9.]+)$")
_CONFLICT = re.compile(
    r"^conflict: another record claims dose (?P<n>\d+) of (?P<pid>\S+) (?P<days>-?\d+) days apart$"
)


def _weight_words(w: float, tf: bool) -> tuple[str, str]:
    side_vi = "ủng hộ" if w > 0 else ("phản đối" if w < 0 else "trung tính")
    side_en = "for" if w > 0 else ("against" if w < 0 else "neutral")
    vi, en = f"{w:+.1f} điểm, {side_vi}", f"{w:+.1f}, evidence {side_en}"
    if tf:
        vi += "; tên càng phổ biến càng ít điểm"
        en += "; a common name weighs less"
    return vi, en


def _segment(text: str, kind: str | None = None) -> Reason:
    # a dose-rule warning: what is wrong and what to do, closed as an item of ``kind`` is
    rule = explain_segment(text, kind) if kind is not None else explain_segment(text)
    if rule is not None:
        return Reason(*rule)
    if text == "exact pass":
        return Reason(
            "exact pass",
            "Khớp chắc chắn: số giấy tờ và ngày sinh trùng với sổ dân cư",
            "certain match: ID number and date of birth agree with the register",
        )
    if text == "no candidate in the register":
        return Reason(
            "no candidate",
            "Không tìm thấy ai trong sổ dân cư gần giống hồ sơ này",
            "nobody in the register resembles this record",
        )
    if text == "unparseable: no record_id":
        return Reason("no record_id", "Hồ sơ thiếu mã hồ sơ", "the record has no record_id")
    m = _RUNNER_UP.match(text)
    if m:
        w = float(m["w"])
        return Reason(
            "runner-up",
            f"Người gần giống thứ hai: {m['pid']} ({w:+.1f} điểm)",
            f"second closest person: {m['pid']} ({w:+.1f})",
            w,
        )
    m = _CONFLICT.match(text)
    if m:
        return Reason(
            "conflict",
            f"Một hồ sơ khác cũng ghi mũi {m['n']} của {m['pid']}, cách {m['days']} ngày",
            f"another record claims dose {m['n']} of {m['pid']}, {m['days']} days apart",
        )
    m = _COMPARISON.match(text)
    if m and m["short"] in _FIELD_OF:
        field = _FIELD_OF[m["short"]]
        label, w, tf = m["label"], float(m["w"]), bool(m["tf"])
        words = _LEVELS.get((field, label))
        jw = _JW.match(label)
        if words is None and jw and field == "full_name":
            pct = round(float(jw["t"]) * 100)
            words = (
                f"Họ và tên gần giống (giống ít nhất {pct}%)",
                f"the full name is similar (at least {pct}% alike)",
            )
        if words is not None:
            wvi, wen = _weight_words(w, tf)
            return Reason(f"{field}:{label}", f"{words[0]} ({wvi})", f"{words[1]} ({wen})", w)
    vi, sep, en = text.partition(" / ")
    if sep and vi.strip() and en.strip():
        # written in both languages ("Vietnamese / English", as the dose path and the rule
        # checks write their reasons): each page shows its own half, never the mixed line
        return Reason("raw", vi.strip(), en.strip(), known=False)
    return Reason("raw", text, text, known=False)


def explain(explanation: str | None, kind: str | None = None) -> list[Reason]:
    """The explanation of a review item of ``kind``, one :class:`Reason` per segment, in
    order (the kind says how a dose-rule warning's to-do ends: an ``unverified`` item carries
    its dose's warnings, a ``dose_check`` item is closed as done)."""
    if not explanation or not explanation.strip():
        return []
    return [_segment(part.strip(), kind) for part in explanation.split("; ") if part.strip()]


def _about_a_candidate(reason: Reason) -> bool:
    """A segment that compares the record with one register person (or names the next one):
    it only means something next to that person."""
    if reason.code == "runner-up" or reason.code.split(":", 1)[0] in COMPARED:
        return True
    return reason.code == "raw" and _COMPARISON.match(reason.vi) is not None


def explain_item(
    explanation: str | None,
    *,
    has_candidates: bool,
    probability: float | None = None,
    kind: str | None = None,
) -> list[Reason]:
    """The reasons a reviewer reads for one item.

    With no candidate shown (a "not found" item), the reconciliation's comparisons with the
    closest register person — who fell below the threshold and is therefore not shown — would
    read as reasons about a person the page does not show ("the name matches (+15.6)", "the
    same ward" under "nobody matches"). They are replaced by one plain sentence saying why
    nobody is shown; every other segment is kept.
    """
    reasons = explain(explanation, kind)
    if has_candidates:
        return reasons
    kept = [r for r in reasons if not _about_a_candidate(r)]
    if len(kept) == len(reasons) or any(r.code == "no candidate" for r in kept):
        return kept
    if probability is not None and probability > 0:
        pct = f"{probability * 100:.0f}" if probability >= 0.01 else "<1"
        vi = (
            f"Người gần giống nhất trong sổ dân cư chỉ khớp khoảng {pct}%: quá ít để coi là "
            "cùng một người, nên không được đưa ra làm ứng viên"
        )
        en = (
            f"the closest register person matches only about {pct}%: too little to be the same "
            "person, so nobody is offered as a candidate"
        )
    else:
        vi = "Không ai trong sổ dân cư đủ giống hồ sơ này để được đưa ra làm ứng viên"
        en = "nobody in the register is close enough to this record to be offered as a candidate"
    return [Reason("below threshold", vi, en), *kept]


def mismatch_words(fields: list[str]) -> tuple[str, str]:
    """``"Khác: Số định danh, Ngày sinh"`` / ``"differs: ID number, date of birth"``."""
    if not fields:
        return "Không có trường nào khác", "no field differs"
    vi = ", ".join(FIELD_LABELS.get(f, (f, f))[0] for f in fields)
    en = ", ".join(FIELD_LABELS.get(f, (f, f))[1] for f in fields)
    return f"Khác: {vi}", f"differs: {en}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def field_differences(record: Mapping[str, Any], person: Any) -> Reason | None:
    """How a dose record differs from the register person its ID number named, in the desk's
    own words (:func:`tiemchung.registry.doses.verify.mismatches`: "Họ tên khác dấu (thiếu hoặc sai
    dấu) so với sổ dân cư", "Ngày sinh bị đảo ngày và tháng", …) — what the nurse was told,
    not "the name, date of birth or sex differs". None when nothing differs (any more)."""
    typed = Typed(
        national_id=record.get("national_id"),
        id_kind=None,
        old_id=None,
        full_name=record.get("full_name"),
        dob=record.get("dob"),
        sex=record.get("sex"),
        ward_code=record.get("ward_code"),
        source="fields",
    )
    # the actor only decides how the register's ID is masked, which is not used here
    found = mismatches(Actor.system("worklist"), person, typed)
    if not found:
        return None
    vi = "; ".join(_lower_first(m.message_vi) for m in found)
    en = "; ".join(m.message_en for m in found)
    return Reason(
        "fields_differ:" + ",".join(f"{m.field}:{m.kind}" for m in found),
        f"Số định danh có trong sổ dân cư ({person.person_id}), nhưng: {vi}",
        f"the ID number is in the register ({person.person_id}), but: {en}",
    )


def precise_reasons(
    reasons: list[Reason], record: Mapping[str, Any], person: Any | None
) -> list[Reason]:
    """``reasons`` with the dose path's generic "the ID number is in the register but the
    name, date of birth or sex differs" (registry/doses/entry.py) replaced by which fields
    differ from ``person`` and how (:func:`field_differences`); unchanged without a person."""
    generic = REASONS["fields_differ"][0]
    if person is None or not any(r.vi == generic for r in reasons):
        return reasons
    precise = field_differences(record, person)
    if precise is None:
        return reasons
    return [precise if r.vi == generic else r for r in reasons]
