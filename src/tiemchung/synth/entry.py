"""Data entry: which given doses were entered, twice, or never, and how each site typed the
person. The truth of every record is written from what was done here, never re-derived.

An *entry context* is one typing of a person at one site. A later dose at the same site re-uses
it (copy-paste or look-up) with probability ``entry.copy_paste``, so a person's errors repeat
across their doses there; a dose entered at another site, or typed again as a double entry,
is a new context with its own errors and formatting.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from tiemchung.identity import OLD_MOBILE_PREFIXES, fold_name

from . import tables as tb
from .draws import choice
from .population import People
from .vaccination import PRODUCTS, Doses
from .world import World

# Bits of the wrong-field mask, and the order of the names in ``wrong_fields``.
WRONG_FIELDS = ("national_id", "full_name", "dob", "sex", "ward_code")
ID, NAME, DOB, SEX, WARD = (1 << i for i in range(5))

KINDS: tuple[tuple[str, int], ...] = (
    ("id_missing", ID),
    ("id_old_cmnd", ID),
    ("id_digit_typo", ID),
    ("id_transposed", ID),
    ("id_relative", ID),
    ("dob_day_month_swap", DOB),
    ("dob_jan_first", DOB),
    ("dob_year_only", DOB),
    ("dob_year_typo", DOB),
    ("name_no_diacritics", NAME),
    ("name_typo", NAME),
    ("name_telex", NAME),
    ("name_dropped_middle", NAME),
    ("sex_wrong", SEX),
    ("ward_neighbour", WARD),
)
KIND_INDEX = {k: i for i, (k, _) in enumerate(KINDS)}
#: kinds that leave the field missing or partial, not wrong (the truth's ``incomplete_fields``,
#: reconcile's ``incomplete``: see :func:`tiemchung.synth.truth.derive_incomplete_fields`)
INCOMPLETE_KINDS = frozenset(
    {"id_missing", "dob_jan_first", "dob_year_only", "name_dropped_middle"}
)
_INCOMPLETE_INDEX = frozenset(KIND_INDEX[k] for k in INCOMPLETE_KINDS)
_NEW_TO_OLD_PREFIX = {new: old for old, new in OLD_MOBILE_PREFIXES.items()}
_KEYBOARD = {  # QWERTY neighbours of each letter: the usual slip of a finger
    "a": "sqz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "wa",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}
_TELEX_TONE = {"\u0300": "f", "\u0301": "s", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_TELEX_MOD = {"\u0302": None, "\u0306": "w", "\u031b": "w"}  # None: double the vowel


def to_telex(word: str) -> str:
    """Telex keystrokes of a word typed with the Vietnamese input method off
    (``Nguyễn`` -> ``Nguyeenx``). The identity toolkit decodes these (``repair_typing``)
    but has no encoder, so the generator carries this one."""
    out: list[str] = []
    tone = ""
    for ch in unicodedata.normalize("NFD", word):
        if ch in _TELEX_TONE:
            tone = _TELEX_TONE[ch]
        elif ch in _TELEX_MOD:
            mod = _TELEX_MOD[ch]
            prev = out[-1]
            out.append(prev.lower() if mod is None else mod)
        elif ch in "đĐ":
            out.append("dd" if ch == "đ" else "Dd")
        else:
            out.append(ch)
    return "".join(out) + tone


def strip_diacritics(name: str) -> str:
    """The name typed without diacritics, capitals kept (``Đỗ Thị Ánh`` -> ``Do Thi Anh``)."""
    folded = fold_name(name).split()
    return " ".join(
        f.upper() if w.isupper() and len(w) > 1 else f.capitalize()
        for w, f in zip(name.split(), folded, strict=True)
    )


@dataclass
class Entered:
    """Typed identities (one per context) and the records that use them."""

    typed: dict[str, list]  # column -> values per context
    wrong: np.ndarray  # wrong-field mask per context (substantive errors)
    incomplete: np.ndarray  # incomplete-field mask per context (missing or partial)
    ctx_person: np.ndarray
    rec_ctx: np.ndarray  # per record
    rec_dose: np.ndarray  # index into Doses
    rec_site: np.ndarray
    rec_dup_of: np.ndarray  # index of the original record, -1 if not a duplicate


def enter(world: World, people: People, doses: Doses, rng: np.random.Generator) -> Entered:
    e = world.profile["entry"]
    nd = doses.n
    entered = np.flatnonzero(rng.random(nd) >= e["never_entered"])
    u = rng.random(len(entered))
    same = u < e["duplicate_same_site"]
    other = ~same & (u < e["duplicate_same_site"] + e["duplicate_other_site"])
    # Duplicates at another site: the ward station re-enters a dose given elsewhere, or the
    # district centre one given at the station.
    ward = people.ward[doses.person[entered]]
    station = world.station[ward]
    osite = np.where(doses.site[entered] == station, world.centre[ward], station)
    osite = np.where(osite == doses.site[entered], world.hospital[ward], osite)
    dups = np.flatnonzero(same | other)
    rec_dose = np.r_[entered, entered[dups]]
    rec_site = np.r_[
        doses.site[entered], np.where(same[dups], doses.site[entered[dups]], osite[dups])
    ]
    nb = len(entered)
    rec_dup_of = np.r_[np.full(nb, -1, dtype=np.int64), dups]
    # Entry contexts: first dose of a person at a site, or a retyping.
    person = doses.person[rec_dose]
    order = np.lexsort((doses.number[rec_dose[:nb]], rec_site[:nb], person[:nb]))
    sp, ss = person[order], rec_site[:nb][order]
    first = np.r_[True, (sp[1:] != sp[:-1]) | (ss[1:] != ss[:-1])] if nb else np.zeros(0, bool)
    new = first | (rng.random(nb) >= e["copy_paste"])
    ctx_sorted = np.cumsum(new) - 1
    rec_ctx = np.empty(len(rec_dose), dtype=np.int64)
    rec_ctx[order] = ctx_sorted
    nctx = int(ctx_sorted[-1] + 1) if nb else 0
    rec_ctx[nb:] = nctx + np.arange(len(dups))
    ctx_person = np.empty(nctx + len(dups), dtype=np.int64)
    ctx_person[rec_ctx] = person
    typed, wrong, incomplete = type_identities(world, people, ctx_person, rng)
    return Entered(typed, wrong, incomplete, ctx_person, rec_ctx, rec_dose, rec_site, rec_dup_of)


def _pick_kinds(
    rng: np.random.Generator,
    app: np.ndarray,
    weights: np.ndarray,
    exclude_field: np.ndarray | None = None,
) -> np.ndarray:
    """One applicable kind per row (weighted), -1 when none applies."""
    fields = np.array([f for _, f in KINDS])
    w = app * weights
    if exclude_field is not None:
        w = w * ((fields[None, :] & exclude_field[:, None]) == 0)
    total = w.sum(axis=1)
    cdf = np.cumsum(w, axis=1)
    target = rng.random(len(w)) * total
    pick = (cdf <= target[:, None]).sum(axis=1)
    return np.where(total > 0, np.minimum(pick, len(KINDS) - 1), -1)


def type_identities(
    world: World, people: People, ctx_person: np.ndarray, rng: np.random.Generator
) -> tuple[dict[str, list], np.ndarray, np.ndarray]:
    """Each context's typed identity, and its masks of wrong and of incomplete fields (a
    field gets at most one kind of error, so the two never share a bit)."""
    e = world.profile["entry"]
    f = e["format"]
    c = len(ctx_person)
    p = ctx_person
    names = people.full_name
    ascii_name = np.array([n.isascii() for n in names])
    has_middle = np.array([bool(m) for m in people.middle])
    has_old = np.array([o is not None for o in people.old_id])
    rel = people.relative
    # --- which errors ---------------------------------------------------------------------
    app = np.ones((c, len(KINDS)), dtype=bool)
    pr, dd, mm = people.precision[p], people.day[p], people.month[p]
    app[:, KIND_INDEX["id_old_cmnd"]] = has_old[p]
    app[:, KIND_INDEX["id_relative"]] = rel[p] >= 0
    app[:, KIND_INDEX["dob_day_month_swap"]] = (pr == 0) & (dd <= 12) & (dd != mm)
    app[:, KIND_INDEX["dob_jan_first"]] = ~((pr == 0) & (dd == 1) & (mm == 1))
    app[:, KIND_INDEX["dob_year_only"]] = pr <= 1
    app[:, KIND_INDEX["name_no_diacritics"]] = ~ascii_name[p]
    app[:, KIND_INDEX["name_telex"]] = ~ascii_name[p]
    app[:, KIND_INDEX["name_dropped_middle"]] = has_middle[p]
    wards = world.wards
    app[:, KIND_INDEX["ward_neighbour"]] = np.array([w.neighbour_code != w.code for w in wards])[
        people.ward[p]
    ]
    weights = np.array([float(e["error_weights"][k]) for k, _ in KINDS])
    foreign = people.foreign[p]
    is_wrong = (rng.random(c) < e["wrong"]) & ~foreign
    kind1 = np.where(is_wrong, _pick_kinds(rng, app, weights), -1)
    fields = np.array([fl for _, fl in KINDS])
    f1 = np.where(kind1 >= 0, fields[np.maximum(kind1, 0)], 0)
    second = is_wrong & (rng.random(c) < e["second_error"])
    kind2 = np.where(second, _pick_kinds(rng, app, weights, exclude_field=f1), -1)
    # --- formatting draws ---------------------------------------------------------------------
    r = rng.random((c, 16))
    ri = rng.integers(0, 1 << 30, (c, 4))
    kinds1, kinds2 = kind1.tolist(), kind2.tolist()
    rows = r.tolist()
    irows = ri.tolist()
    out_name, out_id, out_dob, out_sex, out_ward, out_phone, out_addr = ([] for _ in range(7))
    wrong = np.zeros(c, dtype=np.int64)
    incomplete = np.zeros(c, dtype=np.int64)
    plist = p.tolist()
    ward_of = people.ward.tolist()
    for j in range(c):
        i = plist[j]
        rr, ir = rows[j], irows[j]
        done = {kinds1[j], kinds2[j]} - {-1}
        mask = 0
        for k in done:
            mask |= KINDS[k][1]
            if k in _INCOMPLETE_INDEX:
                incomplete[j] |= KINDS[k][1]
            else:
                wrong[j] |= KINDS[k][1]
        # name
        name = names[i]
        if mask & NAME:
            name = _name_error(name, people.middle[i], done, rr[0], ir[0])
        if people.foreign[i]:
            pass
        elif rr[1] < f["name_upper"]:
            name = name.upper()
        elif rr[1] < f["name_upper"] + f["name_lower"]:
            name = name.lower()
        if rr[2] < f["name_new_style_tone"]:
            name = _new_style(name)
        if rr[3] < f["name_nfd"]:
            name = unicodedata.normalize("NFD", name)
        if rr[4] < f["name_extra_spaces"]:
            parts = name.split(" ")
            k = ir[1] % len(parts)
            parts[k] = parts[k] + " "
            name = (" " if ir[1] & 1 else "") + " ".join(parts)
        out_name.append(name)
        # national ID
        nid: str | None = people.national_id[i]
        if mask & ID:
            nid = _id_error(people, i, done, ir[2])
        if nid is not None and rr[5] < f["id_spaced"] and nid.isdigit():
            nid = _spaced(nid, ir[3])
        out_id.append(nid)
        # date of birth
        out_dob.append(_dob(people, i, done if mask & DOB else (), rr, f, ir[0]))
        # sex
        s = int(people.sex[i])
        if mask & SEX:
            s = 1 - s
        word = "Nữ" if s else "Nam"
        if mask & NAME and KIND_INDEX["name_no_diacritics"] in done and s:
            word = "Nu"
        if rr[6] < f["sex_lower"]:
            word = word.lower()
        elif rr[6] < f["sex_lower"] + f["sex_upper"]:
            word = word.upper()
        out_sex.append(word)
        # ward
        w = wards[ward_of[i]]
        code = w.neighbour_code if mask & WARD else w.code
        if code[0] == "0" and rr[7] < f["ward_code_no_zero"]:
            code = code.lstrip("0") or "0"
        out_ward.append(code)
        # phone (not a checked field: a relative's number is realistic noise, not an error)
        phone = people.phone[i]
        if rr[8] < f["relative_phone"] and rel[i] >= 0:
            phone = people.phone[int(rel[i])]
        if rr[9] < f["phone_missing"]:
            phone = None
        if phone is not None:
            if rr[10] < f["phone_old_11_digits"] and phone[:3] in _NEW_TO_OLD_PREFIX:
                phone = _NEW_TO_OLD_PREFIX[phone[:3]] + phone[3:]
            elif rr[10] > 1 - f["phone_plus84"]:
                phone = "+84 " + phone[1:]
            if rr[11] < f["phone_spaced"]:
                phone = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
        out_phone.append(phone)
        # address
        addr = people.address[i]
        if rr[12] < f["address_abbreviated"]:
            addr = _abbreviate(addr)
        if rr[13] < f["address_lower"]:
            addr = addr.lower()
        out_addr.append(addr)
    typed = {
        "national_id": out_id,
        "full_name": out_name,
        "dob": out_dob,
        "sex": out_sex,
        "phone": out_phone,
        "ward_code": out_ward,
        "address": out_addr,
    }
    return typed, wrong, incomplete


def _name_error(name: str, middle: str, kinds: set[int], u: float, x: int) -> str:
    if KIND_INDEX["name_dropped_middle"] in kinds:
        words = name.split(" ")
        mids = middle.split(" ")
        drop = 1 + (x % len(mids))  # position of a middle word (after the surname)
        name = " ".join(words[:drop] + words[drop + 1 :])
    if KIND_INDEX["name_typo"] in kinds:
        name = _typo(name, x >> 3, u)
    if KIND_INDEX["name_no_diacritics"] in kinds:
        name = strip_diacritics(name)
    elif KIND_INDEX["name_telex"] in kinds:
        words = name.split(" ")
        if u < 0.5:
            words = [to_telex(w) for w in words]
        else:
            k = (
                max(i for i, w in enumerate(words) if not w.isascii())
                if not all(w.isascii() for w in words)
                else len(words) - 1
            )
            words[k] = to_telex(words[k])
        name = " ".join(words)
    return name


def _typo(name: str, x: int, u: float) -> str:
    """A slip that always changes the name's letters (so its folded form changes too)."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    ascii_letters = [i for i in letters if name[i].isascii()]
    if u < 0.5 and ascii_letters:  # neighbouring key
        i = ascii_letters[x % len(ascii_letters)]
        ch = name[i]
        alt = _KEYBOARD[ch.lower()]
        new = alt[(x >> 5) % len(alt)]
        return name[:i] + (new.upper() if ch.isupper() else new) + name[i + 1 :]
    # a letter dropped or doubled (never the only letter of a word)
    words = name.split(" ")
    long_words = [k for k, w in enumerate(words) if len(w) > 2]
    k = long_words[x % len(long_words)] if long_words else len(words) - 1
    w = words[k]
    pos = 1 + (x >> 4) % (len(w) - 1) if len(w) > 1 else 0
    words[k] = w[:pos] + w[pos + 1 :] if u < 0.8 and len(w) > 1 else w[:pos] + w[pos] + w[pos:]
    return " ".join(words)


_NEW_STYLE_MAP = {o: n for o, n in tb.NEW_STYLE_TONES} | {
    o.upper(): n.upper() for o, n in tb.NEW_STYLE_TONES
}
_NEW_STYLE_RE = re.compile("(" + "|".join(_NEW_STYLE_MAP) + r")(?=\s|$)")


def _new_style(name: str) -> str:
    """Tone on the second vowel of an open oa/oe/uy syllable (Hòa -> Hoà), as many keyboards
    type it."""
    return _NEW_STYLE_RE.sub(lambda m: _NEW_STYLE_MAP[m.group(1)], name)


def _id_error(people: People, i: int, kinds: set[int], x: int) -> str | None:
    nid = people.national_id[i]
    if KIND_INDEX["id_missing"] in kinds:
        return None
    if KIND_INDEX["id_old_cmnd"] in kinds:
        return people.old_id[i]
    if KIND_INDEX["id_relative"] in kinds:
        return people.national_id[int(people.relative[i])]
    if KIND_INDEX["id_transposed"] in kinds:
        spots = [k for k in range(len(nid) - 1) if nid[k] != nid[k + 1]]
        if spots:
            k = spots[x % len(spots)]
            return nid[:k] + nid[k + 1] + nid[k] + nid[k + 2 :]
    # digit typo (also the fallback of a transposition with no two different neighbours)
    k = 6 + x % 6 if x & 0x10000 else x % 12
    d = (int(nid[k]) + 1 + (x >> 8) % 9) % 10
    return nid[:k] + str(d) + nid[k + 1 :]


def _spaced(nid: str, x: int) -> str:
    style = x % 3
    if len(nid) == 12:
        if style == 0:
            return f"{nid[:3]} {nid[3:6]} {nid[6:]}"
        if style == 1:
            return f"{nid[:6]} {nid[6:]}"
        return f"{nid[:3]}.{nid[3:6]}.{nid[6:9]}.{nid[9:]}"
    return f"{nid[:3]} {nid[3:6]} {nid[6:]}"


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _dob(people: People, i: int, kinds, rr: list[float], f: dict, x: int) -> str:
    y, m, d = int(people.year[i]), int(people.month[i]), int(people.day[i])
    prec = int(people.precision[i])
    if KIND_INDEX["dob_year_only"] in kinds:
        return f"{y}"
    if KIND_INDEX["dob_jan_first"] in kinds:
        return "01/01/" + str(y) if rr[14] >= f["dob_iso"] else f"{y}-01-01"
    if KIND_INDEX["dob_year_typo"] in kinds:
        # a slip of one digit, ten years, or the last two digits swapped; a 29 February that
        # no longer exists moves by four or eight years instead
        typos = [y + 1, y - 1, y + 10, y - 10, int(str(y)[:2] + str(y)[3] + str(y)[2])]
        start = x % len(typos)
        for ny in [*typos[start:], *typos[:start], y - 4, y + 4, y - 8]:
            if (
                ny != y
                and 1900 <= ny <= 2021
                and not (prec == 0 and m == 2 and d == 29 and not _leap(ny))
            ):
                y = ny
                break
    if KIND_INDEX["dob_day_month_swap"] in kinds:
        d, m = m, d
    if prec == 2:
        return f"{y}"
    if prec == 1:
        return f"{y}-{m:02d}" if rr[14] < f["dob_iso"] else f"{m:02d}/{y}"
    u = rr[14]
    if u < f["dob_iso"]:
        return f"{y}-{m:02d}-{d:02d}"
    u -= f["dob_iso"]
    if u < f["dob_no_padding"]:
        return f"{d}/{m}/{y}"
    u -= f["dob_no_padding"]
    if u < f["dob_dashes"]:
        return f"{d:02d}-{m:02d}-{y}"
    u -= f["dob_dashes"]
    if u < f["dob_dots"]:
        return f"{d:02d}.{m:02d}.{y}"
    return f"{d:02d}/{m:02d}/{y}"


_ABBREVIATIONS = (
    ("Thành phố ", "TP. "),
    ("Phường ", "P. "),
    ("Quận ", "Q. "),
    ("Huyện ", "H. "),
    ("Thị trấn ", "TT. "),
    ("Thị xã ", "TX. "),
    ("Xã ", "X. "),
    ("Tỉnh ", ""),
    ("Tổ dân phố ", "TDP "),
)


def _abbreviate(addr: str) -> str:
    for long, short in _ABBREVIATIONS:
        addr = addr.replace(long, short)
    return addr


def product_codes() -> list[str]:
    return PRODUCTS


def wrong_fields_text(mask: int) -> str | None:
    if not mask:
        return None
    return ";".join(name for bit, name in enumerate(WRONG_FIELDS) if mask >> bit & 1)


__all__ = [
    "INCOMPLETE_KINDS",
    "KINDS",
    "WRONG_FIELDS",
    "Entered",
    "choice",
    "enter",
    "strip_diacritics",
    "to_telex",
    "wrong_fields_text",
]
