"""Property tests (hypothesis) over arbitrary and Vietnamese-shaped text."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import tiemchung.identity as ident
from tiemchung.identity import (
    VIETNAMESE_LETTERS,
    IdentityError,
    fold_name,
    normalize_name,
    repair_encoding,
    to_tcvn3,
    to_vni,
)
from tiemchung.identity.encodings import TCVN3_DECODE, decode_tcvn3, decode_vni
from tiemchung.identity.letters import compose
from tiemchung.identity.syllables import ONSETS, RHYMES, is_syllable, place_tone

SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def syllables(draw: Any) -> str:
    """Well-formed syllables by the spelling rules (written out here, not the validator):
    gh/ngh/k only before e ê i y; qu never before u ư o; a stop coda takes sắc or nặng."""
    rhyme = draw(st.sampled_from(sorted(RHYMES)))
    onsets = [o for o in ("", *ONSETS)
              if not (o in ("gh", "ngh", "k") and rhyme[0] not in "eêiy")
              and not (o == "qu" and rhyme[0] in "uưo")]
    onset = draw(st.sampled_from(onsets))
    stop = rhyme.endswith(("c", "ch", "p", "t"))
    tone = draw(st.sampled_from((2, 5) if stop else (0, 1, 2, 3, 4, 5)))
    word = onset + rhyme
    i = next(k for k, c in enumerate(word) if c in "aăâeêioôơuưy" and k >= len(onset))
    return place_tone(word[:i] + compose(word[i], tone) + word[i + 1:])


@st.composite
def vietnamese_text(draw: Any) -> str:
    words = draw(st.lists(syllables(), min_size=1, max_size=5))
    case = draw(st.sampled_from(["lower", "upper", "title"]))
    if case == "upper":
        words = [w.upper() for w in words]
    elif case == "title":
        words = [w[:1].upper() + w[1:] for w in words]
    return " ".join(words)


vietnamese_chars = st.text(alphabet=st.sampled_from(
    list(VIETNAMESE_LETTERS) + list("abcdefghijklmnopqrstuvwxyzAEIOUY -'\t\u0300\u0301")))
any_text = st.one_of(st.text(), vietnamese_chars, vietnamese_text())


@SETTINGS
@given(any_text)
def test_normalize_name_idempotent(text: str) -> None:
    once = normalize_name(text)
    assert normalize_name(once) == once


@SETTINGS
@given(any_text)
def test_fold_of_normalized_equals_fold(text: str) -> None:
    assert fold_name(normalize_name(text)) == fold_name(text)


def _evidence(legacy: str) -> bool:
    """The legacy text has a character clean Vietnamese text never has."""
    allowed = set(VIETNAMESE_LETTERS) | {chr(c) for c in range(128)}
    return any(c not in allowed for c in legacy)


def _carries_case(legacy: str) -> bool:
    """Some letter of the TCVN3 text is a capital in its own right: an ASCII capital or one of
    the capitals VN3 has a code for (Đ Ă Â Ê Ô Ơ Ư); its toned capitals are lower-case bytes."""
    return any(
        (c.isascii() and c.isupper()) or (ord(c) in TCVN3_DECODE and TCVN3_DECODE[ord(c)].isupper())
        for c in legacy
    )


def _reads_as_vietnamese(text: str) -> bool:
    return all(w.isascii() or is_syllable(w.lower()) for w in text.split())


def _unambiguous(legacy: str, other: str) -> bool:
    """The other legacy decoding does not also give a clean Vietnamese reading."""
    return other == legacy or not _reads_as_vietnamese(other)


@SETTINGS
@given(vietnamese_text())
def test_vni_round_trip(text: str) -> None:
    legacy = to_vni(text)
    assume(_evidence(legacy) and _unambiguous(legacy, decode_tcvn3(legacy)))
    assert repair_encoding(legacy) == text


@SETTINGS
@given(vietnamese_text())
@example("À À")  # no letter of its bytes says capitals: comes back 'à à' (CI found it)
def test_tcvn3_round_trip(text: str) -> None:
    legacy = to_tcvn3(text)
    assume(_evidence(legacy) and _unambiguous(legacy, decode_vni(legacy)))
    repaired = repair_encoding(legacy)
    upper = text == text.upper() and sum(c.isalpha() for c in text) > 1
    if text == text.lower() or (upper and _carries_case(legacy)):
        assert repaired == text
    else:
        # mixed case, or no letter that says capitals ('À À' is the bytes of 'à à'): capitals
        # VN3 has no code for come back lower case (documented)
        assert repaired.lower() == text.lower()
        assert normalize_name(repaired) == normalize_name(text)


@SETTINGS
@given(vietnamese_text())
def test_clean_text_never_repaired(text: str) -> None:
    assert repair_encoding(text) == text
    assert ident.repair_typing(text) == text


TEXT_FUNCTIONS = [
    ident.parse_national_id, ident.parse_cccd_qr, ident.normalize_name, ident.fold_name,
    ident.repair_encoding, ident.repair_typing, ident.split_name, ident.parse_dob,
    ident.normalize_phone, ident.parse_sex, ident.to_tcvn3, ident.to_vni,
    ident.detect_encoding, ident.decode_typing,
    lambda t: ident.find_province(t, scheme="2021"),
    lambda t: ident.find_ward(t, scheme="2025"),
    lambda t: ident.find_district(t, province=t),
    lambda t: ident.province_by_code(t, scheme="2021"),
    lambda t: ident.ward_by_code(t, scheme="2025"),
    lambda t: ident.id_conflicts(t, t, t),
    lambda t: ident.id_conflicts("001090012345", t, None),
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789 .-|/+:Nnamữ\r\n"), vietnamese_chars))
def test_only_identity_error_escapes(text: str) -> None:
    for fn in TEXT_FUNCTIONS:
        with contextlib.suppress(IdentityError):  # anything else fails the test
            fn(text)  # type: ignore[operator]


@settings(max_examples=100, deadline=None)
@given(st.binary())
def test_qr_bytes_only_identity_error(raw: bytes) -> None:
    with contextlib.suppress(IdentityError):
        ident.parse_cccd_qr(raw)


def test_non_text_inputs_raise_identity_error() -> None:
    for fn in TEXT_FUNCTIONS:
        for value in (None, 12.5, object(), ["x"]):
            with contextlib.suppress(IdentityError):  # anything else fails the test
                fn(value)  # type: ignore[operator]
