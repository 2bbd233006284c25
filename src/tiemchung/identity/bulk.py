"""The bulk path: the same standardisation as DuckDB SQL macros, for millions of rows.

Reconciliation standardises whole extracts (millions of rows); calling Python per row would
take minutes. :func:`register_macros` defines SQL macros on a DuckDB connection; every table
in them (fold pairs, separators, CCCD provinces, phone prefixes, date patterns, tone-style
pairs) is generated here from the Python module that owns it, never copied by hand. Only
built-in DuckDB functions are used: no extension is loaded or downloaded.

>>> import duckdb
>>> con = duckdb.connect()
>>> register_macros(con)
>>> con.sql("SELECT tc_fold_name('Nguyễn  Đức'), tc_id_kind('001.090.012345'), "
...         "tc_phone('+84 168 234 5678')").fetchall()[0]
('nguyen duc', 'cccd', '0382345678')

Macros and their Python counterparts (SQL gives ``NULL`` where Python raises):

=================================  ================================================
``tc_fold_name(x)``                :func:`~tiemchung.identity.fold_name` (exact)
``tc_normalize_name(x)``           :func:`~tiemchung.identity.normalize_name` (see below)
``tc_id_digits(x)``                ``parse_national_id(x).digits``
``tc_id_kind(x)``                  ``.kind`` (``cccd``/``cmnd``)
``tc_id_province(x)``              ``.province_code`` (3-digit CCCD prefix)
``tc_id_province_name(x)``         ``.province_name``
``tc_id_sex(x)``                   ``.sex`` (``male``/``female``)
``tc_id_birth_year(x)``            ``.birth_year`` (century + two digits)
``tc_phone(x)``                    :func:`~tiemchung.identity.normalize_phone`
``tc_dob(x)``                      :func:`~tiemchung.identity.parse_dob` on text, as
                                   ``STRUCT(year, month, day, precision, day_first)``
=================================  ================================================

Not exact, and why:

* ``tc_normalize_name`` applies the display rules (NFC, spacing, capitals, also after ``-`` and
  ``'``) and the old-style tone placement for open ``oa``/``oe``/``uy`` syllables (``Hoà`` ->
  ``Hòa``, ``Thuỷ`` -> ``Thủy``), which is the variation real data has (it comes from the
  typing-tool setting). Python also moves a tone typed on a wrong vowel in any other rhyme
  (``Hòang`` -> ``Hoàng``); doing that in SQL needs a syllable parser per word, so the bulk
  path leaves such rare words as they are. Parity is tested on names whose tones are either
  well placed or differ by that style.
* Case mapping is DuckDB's (utf8proc, simple mappings): Python lowers a Greek word-final
  ``Σ`` to ``ς``, DuckDB to ``σ``. Vietnamese and Latin text is unaffected (tested on every
  BMP character outside CJK for ``tc_fold_name``).
* Legacy-encoding repair (:func:`~tiemchung.identity.repair_encoding`) and Telex repair score
  whole strings against the syllable grammar; they have no SQL form. Run them in Python on the
  (few) rows that :func:`suspect_encoding_sql` flags.
* ``tc_dob`` uses ``current_date`` for "not in the future" and the two-digit-year century,
  where Python uses ``today`` (default: the current date).

Speed (``bench/identity.py``, ``docs/identity.md``): per row, on this 2-core machine, the
string kernels themselves are the limit (``strip_accents`` alone runs at ~2M rows per CPU
second), so names are cheapest when each *distinct* value is standardised once and joined
back: :func:`via_distinct_sql`. The macros take fast paths for the common case (fast text,
names already in display form, clean 12-digit IDs) and fall back to exact slow paths.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any, Final

from . import dates, ids, letters, phones

_TONE_STYLE_ONSET: Final = "bcdđghklmnprstvx"


def _q(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _re_class(chars: str) -> str:
    """RE2 character class matching exactly ``chars``."""
    return "[" + "".join(f"\\x{{{ord(c):04X}}}" for c in chars) + "]"


def _style_pairs() -> list[tuple[str, str]]:
    """New-style open oa/oe/uy endings -> old style, e.g. ``oà`` -> ``òa``."""
    out = []
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for tone in range(1, 6):
            out.append((first + letters.compose(second, tone),
                        letters.compose(first, tone) + second))
    return out


def _nondecomposing_sql(expr: str) -> str:
    """Replace, in ``expr`` (already lower case), the folded letters with no decomposition."""
    for src, dst in letters.FOLD_PAIRS:
        if src == src.lower() and len(unicodedata.normalize("NFD", src)) == 1 and not (
            src.isascii()
        ):
            expr = f"replace({expr}, {_q(src)}, {_q(dst.lower())})"
    return expr


#: The common text of names: ASCII, Latin-1, Latin Extended-A and the Vietnamese letters, no
#: combining mark. Text made only of these is already NFC (every one is precomposed, none
#: composes with a neighbour), and on it DuckDB's ``strip_accents`` + ``lower`` fold exactly
#: as :data:`~tiemchung.identity.letters.FOLD_TABLE` + ``str.lower`` do (tested on every
#: character). Other text (NFD marks, Greek, Devanagari, Latin Extended-B...) takes an exact,
#: slower path: ``strip_accents`` removes marks that Python keeps (``ά``, ``क़``, ``Ǣ``).
_FAST_RANGES: Final = ((0x00, 0x7F), (0xA0, 0x17F), (0x1A0, 0x1A1), (0x1AF, 0x1B0),
                       (0x1EA0, 0x1EF9))
#: The whitespace of the fast text (``str.split()`` splits on every one of them).
_FAST_WS: Final = "\\t\\n\\x0B\\x0C\\r\\x1C-\\x1F \\x{85}\\x{A0}"


def _fast_class() -> str:
    return "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _FAST_RANGES) + "]"


@cache
def _uncapitalisable() -> str:
    """Characters that Python's ``normalize_name`` never capitalises (``ß`` -> ``SS``,
    ``µ`` -> ``Μ`` -> ``μ``, ``İ``...): their capital does not lower back to them."""
    odd = []
    for c in range(0x110000):
        ch = chr(c)
        if 0xD800 <= c < 0xE000:
            continue
        up = ch.upper()
        if len(up) != 1 or up.lower() != ch:
            odd.append(ch)
    return _re_class_ranges("".join(odd))


def _squash_needed(ws: str) -> str:
    """A regex matching text whose whitespace is not already single spaces between words."""
    cls = ws[1:-1]  # the class body of ``[...]``
    other = _re_class(letters.whitespace().replace(" ", ""))  # tabs, NBSP, thin spaces...
    return f"[{cls}]{{2,}}|^[{cls}]|[{cls}]$|{other}"


def _old_style_sql(expr: str) -> str:
    """``expr`` (lower case, single spaces) with every syllable made only of onset consonants
    and a new-style pair (``hoà``, ``thuỷ``) put in the old style (``hòa``, ``thủy``): the
    whole string at once with regexp_replace, not a lambda per syllable. Two passes, because
    a match consumes the separator after it and so hides the next syllable's start."""
    sep = "[ \\-''’]"
    for _ in range(2):
        for new, old in _style_pairs():
            expr = (f"regexp_replace({expr}, '(^|{sep})([{_TONE_STYLE_ONSET}]*){new}($|{sep})', "
                    f"'\\1\\2{old}\\3', 'g')")
    return expr


def macro_sql(*, normalize: bool = True) -> list[str]:
    """The ``CREATE OR REPLACE MACRO`` statements, in dependency order; ``normalize=False``
    without those only ``tc_normalize_name`` needs (:data:`_NORMALIZE_ONLY`), whose table of
    uncapitalisable letters takes ~0.1 s to compute from all of Unicode."""
    stmts = _macro_statements(normalize)
    if normalize:
        return stmts
    return [s for s in stmts if _macro_name(s) not in _NORMALIZE_ONLY]


def _macro_name(stmt: str) -> str:
    return stmt.split("MACRO ", 1)[1].split("(", 1)[0]


def _macro_statements(normalize: bool) -> list[str]:
    ws = _re_class(letters.whitespace())
    fast = _fast_class()
    pairs = _style_pairs()
    style_any = "(?:" + "|".join(a for a, _ in pairs) + ")"
    style_re = "^[" + _TONE_STYLE_ONSET + "]*" + style_any + "$"
    style_case = " ".join(f"WHEN {_q(a)} THEN {_q(b)}" for a, b in pairs)
    # only statements that normalize=False drops use it
    odd = _uncapitalisable() if normalize else "[^\\x00-\\x{10FFFF}]"
    fold_from = "".join(a for a, _ in letters.FOLD_PAIRS) + letters.FOLD_DELETE
    fold_to = "".join(b for _, b in letters.FOLD_PAIRS)
    sep = _re_class(ids.ID_SEPARATORS)
    prov_case = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in ids.CCCD_PROVINCES.items())
    old = phones.OLD_MOBILE_PREFIXES
    old_list = ", ".join(_q(k) for k in old)
    old_case = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in old.items())
    mobile = ", ".join(_q(k) for k in phones.MOBILE_STARTS)
    d = dates
    return [
        # --- names ---------------------------------------------------------------------
        # Squashing whitespace: regexp_replace costs more than folding the accents, so fast
        # text with short runs of space/tab/LF/NBSP (nearly all names) uses replace().
        f"CREATE OR REPLACE MACRO tc__squash_fast(x) AS CASE "
        f"WHEN NOT regexp_matches(x, '[{_FAST_WS}]{{2,}}|^[{_FAST_WS}]|[{_FAST_WS}]$|"
        f"[{_FAST_WS.replace(' ', '')}]') THEN x "
        f"WHEN regexp_matches(x, '[\\x0B\\x0C\\r\\x1C-\\x1F\\x{{85}}]|[{_FAST_WS}]{{9,}}') "
        f"THEN trim(regexp_replace(x, '[{_FAST_WS}]+', ' ', 'g')) "
        f"ELSE trim(replace(replace(replace(replace(replace(replace(x, chr(9), ' '), "
        f"chr(10), ' '), chr(160), ' '), '  ', ' '), '  ', ' '), '  ', ' ')) END",
        f"CREATE OR REPLACE MACRO tc_squash(x) AS CASE "
        f"WHEN regexp_full_match(x, '{fast}*') THEN tc__squash_fast(x) "
        f"WHEN regexp_matches(x, {_q(_squash_needed(ws))}) "
        f"THEN trim(regexp_replace(x, '{ws}+', ' ', 'g')) ELSE x END",
        # Fast text (see _FAST_RANGES): strip_accents (utf8proc: decompose, drop marks) does
        # what FOLD_TABLE does for every letter that decomposes; the two that do not (đ, ð)
        # are replaced after lower(). Text that is fast once NFC (decomposed input, 4 % of
        # generated records) the same after nfc_normalize. Other text: NFC, then translate()
        # with the whole fold table (exact, ~50x slower, rare), then lower().
        "CREATE OR REPLACE MACRO tc__fold_chars(x) AS "
        + _nondecomposing_sql("lower(strip_accents(x))"),
        f"CREATE OR REPLACE MACRO tc__fold_exact(x) AS tc_squash(lower(translate("
        f"nfc_normalize(x), {_q(fold_from)}, {_q(fold_to)})))",
        f"CREATE OR REPLACE MACRO tc_fold_name(x) AS CASE "
        f"WHEN regexp_full_match(x, '{fast}*') THEN tc__fold_chars(tc__squash_fast(x)) "
        f"WHEN regexp_full_match(nfc_normalize(x), '{fast}*') "
        f"THEN tc__fold_chars(tc__squash_fast(nfc_normalize(x))) "
        "ELSE tc__fold_exact(x) END",
        "CREATE OR REPLACE MACRO tc__cap(p) AS upper(p[1:1]) || p[2:]",
        # Display form: NFC only when not fast text, squash only when needed, lower, then one
        # lambda over the words: a capital, the old tone style only for a word with a
        # new-style pair, parts split on - ' ’ only for a word that has one. A fast path
        # returning names already in display form (60 % of generated records) was measured
        # and dropped: a lambda inside a CASE branch runs ~3x slower in DuckDB 2.0, which
        # costs more than the fast path saves.
        f"CREATE OR REPLACE MACRO tc__nfc(x) AS CASE WHEN regexp_full_match(x, '{fast}*') "
        f"THEN x ELSE nfc_normalize(x) END",
        # Python lowers İ to two code points and so keeps it; lower() here would give i.
        "CREATE OR REPLACE MACRO tc__lower(s) AS CASE WHEN contains(s, 'İ') THEN "
        "replace(lower(replace(s, 'İ', chr(57344))), chr(57344), 'İ') ELSE lower(s) END",
        f"CREATE OR REPLACE MACRO tc__tone_style(p) AS CASE WHEN regexp_matches(p, "
        f"{_q(style_re)}) THEN left(p, length(p) - 2) || CASE right(p, 2) {style_case} END "
        f"ELSE p END",
        "CREATE OR REPLACE MACRO tc__syllable(p) AS tc__cap(tc__tone_style(p))",
        # Rare text (a separator, or a letter Python will not capitalise) splits into parts.
        f"CREATE OR REPLACE MACRO tc__syllable_part(p) AS CASE WHEN regexp_matches(p, "
        f"'^{odd}') THEN tc__tone_style(p) ELSE tc__syllable(p) END",
        # One word: s is referenced once per macro level, because DuckDB does not share a
        # subexpression between CASE branches and nested references multiply the work.
        "CREATE OR REPLACE MACRO tc__word(w) AS CASE "
        f"WHEN regexp_matches(w, '[-''’]|{odd}') THEN "
        "array_to_string(list_transform(string_split(w, '-'), lambda h: "
        "array_to_string(list_transform(string_split(h, ''''), lambda a: "
        "array_to_string(list_transform(string_split(a, '’'), lambda p: tc__syllable_part(p)), "
        "'’')), '''')), '-') "
        f"WHEN regexp_matches(w, {_q(style_any)}) THEN tc__syllable(w) "
        "ELSE tc__cap(w) END",
        "CREATE OR REPLACE MACRO tc__caps(s) AS "
        "array_to_string(list_transform(string_split(s, ' '), lambda w: tc__word(w)), ' ')",
        "CREATE OR REPLACE MACRO tc_normalize_name(x) AS "
        "tc__caps(tc__lower(tc_squash(tc__nfc(x))))",
        # --- ID numbers ----------------------------------------------------------------
        # Most IDs arrive clean: test that first. Otherwise one regex says whether the text
        # is separators and 12 or 9 digits, and only then are the separators stripped.
        f"CREATE OR REPLACE MACRO tc_id_digits(x) AS CASE "
        f"WHEN regexp_full_match(x, '[0-9]{{12}}|[0-9]{{9}}') THEN x "
        f"WHEN regexp_full_match(x, '{sep}*(?:[0-9]{sep}*){{12}}|{sep}*(?:[0-9]{sep}*){{9}}') "
        f"THEN regexp_replace(x, '{sep}', '', 'g') END",
        "CREATE OR REPLACE MACRO tc_id_kind(x) AS "
        "CASE length(tc_id_digits(x)) WHEN 12 THEN 'cccd' WHEN 9 THEN 'cmnd' END",
        "CREATE OR REPLACE MACRO tc__cccd(x) AS "
        "CASE WHEN length(tc_id_digits(x)) = 12 THEN tc_id_digits(x) END",
        "CREATE OR REPLACE MACRO tc_id_province(x) AS "
        "CASE WHEN tc__cccd(x)[1:1] = '0' THEN tc__cccd(x)[1:3] END",
        f"CREATE OR REPLACE MACRO tc_id_province_name(x) AS "
        f"CASE tc_id_province(x) {prov_case} END",
        "CREATE OR REPLACE MACRO tc_id_sex(x) AS CASE WHEN tc__cccd(x) IS NOT NULL THEN "
        "CASE WHEN TRY_CAST(tc__cccd(x)[4:4] AS INTEGER) % 2 = 1 THEN 'female' ELSE 'male' END END",
        "CREATE OR REPLACE MACRO tc_id_birth_year(x) AS 1900 + 100 * "
        "(TRY_CAST(tc__cccd(x)[4:4] AS INTEGER) // 2) + TRY_CAST(tc__cccd(x)[5:6] AS INTEGER)",
        # --- phones --------------------------------------------------------------------
        "CREATE OR REPLACE MACRO tc__phone_stage(s) AS CASE "
        "WHEN s IS NULL OR NOT regexp_full_match(s, '\\+?[0-9]+') THEN NULL "
        "WHEN s[1:1] = '+' THEN CASE WHEN s[2:3] = '84' THEN '0' || s[4:] END "
        "WHEN s[1:2] = '00' THEN CASE WHEN s[3:4] = '84' THEN '0' || s[5:] END "
        "WHEN s[1:2] = '84' AND length(s) IN (11, 12) THEN '0' || s[3:] "
        "WHEN s[1:1] <> '0' AND length(s) IN (9, 10) THEN '0' || s "
        "ELSE s END",
        f"CREATE OR REPLACE MACRO tc__phone_final(n) AS CASE "
        f"WHEN length(n) = 10 AND n[1:2] IN ({mobile}) THEN n "
        f"WHEN length(n) = 11 AND n[1:4] IN ({old_list}) THEN "
        f"(CASE n[1:4] {old_case} END) || n[5:] "
        f"WHEN length(n) = 11 AND n[1:2] = '02' THEN n END",
        f"CREATE OR REPLACE MACRO tc_phone(x) AS tc__phone_final(tc__phone_stage("
        f"regexp_replace(x, {_q(_re_class(phones.PHONE_SEPARATORS))}, '', 'g')))",
        # --- dates of birth ------------------------------------------------------------
        f"CREATE OR REPLACE MACRO tc__dob_clean(x) AS regexp_replace(trim(regexp_replace("
        f"trim(tc_fold_name(x), ' ,.'), {_q(d._TIME.pattern)}, '')), "
        f"{_q(d._PREFIX.pattern.replace('(?=', '('))}, '\\1')",  # RE2 has no lookahead
        "CREATE OR REPLACE MACRO tc__serial(n) AS CASE WHEN n <> 60 THEN "
        "DATE '1899-12-30' + (n + CASE WHEN n < 60 THEN 1 ELSE 0 END) END",
        "CREATE OR REPLACE MACRO tc__pd(y, m, d, df) AS "
        "{'y': TRY_CAST(y AS INTEGER), 'm': TRY_CAST(m AS INTEGER), 'd': TRY_CAST(d AS INTEGER), "
        "'df': df}",
        "CREATE OR REPLACE MACRO tc__pd_date(dt) AS "
        "tc__pd(year(dt), month(dt), day(dt), false)",
        "CREATE OR REPLACE MACRO tc__dmy(d, m, y) AS tc__pd(y, m, d, "
        "TRY_CAST(d AS INTEGER) <> TRY_CAST(m AS INTEGER) AND TRY_CAST(d AS INTEGER) <= 12 "
        "AND TRY_CAST(m AS INTEGER) <= 12)",
        "CREATE OR REPLACE MACRO tc__yy(yy) AS CASE WHEN "
        "year(current_date) // 100 * 100 + TRY_CAST(yy AS INTEGER) <= year(current_date) "
        "THEN year(current_date) // 100 * 100 + TRY_CAST(yy AS INTEGER) "
        "ELSE year(current_date) // 100 * 100 + TRY_CAST(yy AS INTEGER) - 100 END",
        f"CREATE OR REPLACE MACRO tc__dob_parts(s) AS CASE "
        f"WHEN s IS NULL OR s = '' OR NOT regexp_full_match(s, '[\\x00-\\x7F]*') THEN NULL "
        f"WHEN regexp_full_match(s, '[0-9]+') THEN CASE length(s) "
        f"  WHEN 4 THEN tc__pd(s, NULL, NULL, false) "
        f"  WHEN 5 THEN tc__pd_date(tc__serial(TRY_CAST(s AS INTEGER))) "
        f"  WHEN 8 THEN CASE WHEN TRY_CAST(s[5:8] AS INTEGER) BETWEEN {d.MIN_YEAR} AND 2100 "
        f"    THEN tc__dmy(s[1:2], s[3:4], s[5:8]) "
        f"    ELSE tc__pd(s[1:4], s[5:6], s[7:8], false) END END "
        f"WHEN regexp_full_match(s, {_q(d._YMD.pattern)}) THEN tc__pd("
        f"  regexp_extract(s, {_q(d._YMD.pattern)}, 1), regexp_extract(s, "
        f"{_q(d._YMD.pattern)}, 2), regexp_extract(s, {_q(d._YMD.pattern)}, 3), false) "
        f"WHEN regexp_full_match(s, {_q(d._DMY.pattern)}) THEN tc__dmy("
        f"  regexp_extract(s, {_q(d._DMY.pattern)}, 1), regexp_extract(s, "
        f"{_q(d._DMY.pattern)}, 2), CASE WHEN length(regexp_extract(s, {_q(d._DMY.pattern)}, "
        f"3)) = 2 THEN tc__yy(regexp_extract(s, {_q(d._DMY.pattern)}, 3)) "
        f"ELSE TRY_CAST(regexp_extract(s, {_q(d._DMY.pattern)}, 3) AS INTEGER) END) "
        f"WHEN regexp_full_match(s, {_q(d._YM.pattern)}) THEN tc__pd("
        f"  regexp_extract(s, {_q(d._YM.pattern)}, 1), "
        f"regexp_extract(s, {_q(d._YM.pattern)}, 2), NULL, false) "
        f"WHEN regexp_full_match(s, {_q(d._MY.pattern)}) THEN tc__pd("
        f"  regexp_extract(s, {_q(d._MY.pattern)}, 2), "
        f"regexp_extract(s, {_q(d._MY.pattern)}, 1), NULL, false) "
        f"WHEN regexp_full_match(s, {_q(d._SERIAL.pattern)}) THEN "
        f"  tc__pd_date(tc__serial(TRY_CAST(regexp_extract(s, {_q(d._SERIAL.pattern)}, 1) "
        f"AS INTEGER))) "
        f"WHEN (contains(s, 'nam') OR contains(s, 'thang')) AND regexp_full_match(s, "
        f"{_q(d._WORDS.pattern)}) AND NOT (regexp_extract(s, {_q(d._WORDS.pattern)}, 1) <> '' "
        f"AND regexp_extract(s, {_q(d._WORDS.pattern)}, 2) = '') THEN tc__pd("
        f"  regexp_extract(s, {_q(d._WORDS.pattern)}, 3), "
        f"NULLIF(regexp_extract(s, {_q(d._WORDS.pattern)}, 2), ''), "
        f"NULLIF(regexp_extract(s, {_q(d._WORDS.pattern)}, 1), ''), false) "
        f"END",
        f"CREATE OR REPLACE MACRO tc__dob_valid(p) AS CASE WHEN p IS NOT NULL "
        f"AND p.y >= {d.MIN_YEAR} "
        f"AND (p.m IS NULL OR p.m BETWEEN 1 AND 12) "
        f"AND (p.d IS NULL OR try(make_date(p.y, p.m, p.d)) IS NOT NULL) "
        f"AND try(make_date(p.y, coalesce(p.m, 1), coalesce(p.d, 1))) <= current_date "
        f"THEN {{'year': p.y, 'month': p.m, 'day': p.d, "
        f"'precision': CASE WHEN p.d IS NOT NULL THEN 'day' WHEN p.m IS NOT NULL "
        f"THEN 'month' ELSE 'year' END, 'day_first': p.df}} END",
        # A macro is expanded textually wherever its parameter appears: tc__dob_parts names
        # its argument ~30 times and tc__dob_valid ~10, so nesting them directly pasted the
        # whole fold expression hundreds of times (1.1 s just to CREATE this macro). A
        # one-element list_transform binds each intermediate value once instead.
        "CREATE OR REPLACE MACRO tc_dob(x) AS list_transform(list_transform("
        "[tc__dob_clean(x)], lambda s: tc__dob_parts(s)), lambda p: tc__dob_valid(p))[1]",
    ]


#: The macros behind ``tc_normalize_name`` alone. Binding their lambdas costs DuckDB ~0.2 s per
#: connection, so callers that take display names from :mod:`tiemchung.identity.columnar`
#: (reconciliation) leave them out.
_NORMALIZE_ONLY: Final = frozenset({
    "tc__cap", "tc__nfc", "tc__lower", "tc__tone_style", "tc__syllable", "tc__syllable_part",
    "tc__word", "tc__caps", "tc_normalize_name",
})


def register_macros(con: Any, *, normalize: bool = True) -> None:
    """Define every ``tc_*`` macro on ``con`` (a ``duckdb.DuckDBPyConnection``);
    ``normalize=False`` leaves out ``tc_normalize_name`` and its helpers.

    Idempotent (``CREATE OR REPLACE``); temporary to the connection's catalog.
    """
    for stmt in macro_sql(normalize=normalize):
        con.execute(stmt)


@cache
def _clean_bigrams() -> frozenset[str]:
    """Every two-letter sequence found in some well-formed Vietnamese syllable (computed once:
    ~0.1 s over the whole syllable grammar)."""
    from .syllables import ONSETS, RHYMES, place_tone

    out: set[str] = set()
    for onset in ("", *ONSETS):
        for rhyme in RHYMES:
            for tone in range(6):
                word = onset + rhyme
                i = next(k for k, c in enumerate(word) if c in letters.VOWEL_INFO and
                         k >= len(onset))
                word = place_tone(word[:i] + letters.compose(word[i], tone) + word[i + 1:])
                word = f" {word} "  # word edges count: "â" never ends a word
                out.update(word[k:k + 2] for k in range(len(word) - 1))
    for new, old in _style_pairs():  # the other tone style (new style oà/uý) is clean too
        out.update((new, old, new[1] + " ", " " + old[0]))
    return frozenset(out)


@cache
def suspect_encoding_sql(column: str) -> str:
    r"""SQL predicate for rows worth a Python :func:`~tiemchung.identity.repair_encoding` pass.

    True when the text has a Latin-1 character that clean Vietnamese never contains (TCVN3
    bytes, mojibake lead characters) or puts a Latin-1 letter next to a letter that no
    Vietnamese syllable puts it next to (VNI ``eâ``, ``yõ``; TCVN3 ``NguyÔn``). A pre-filter
    only: it over-selects and never repairs, and like
    :func:`repair_encoding` it cannot see legacy text made only of clean-looking syllables.

    >>> suspect_encoding_sql("name")[:32]
    "regexp_matches(name, '(?i)(?:[\\x"
    """
    clean = set(letters.VIETNAMESE_LETTERS)
    odd = "".join(chr(c) for c in range(0x80, 0x100) if chr(c) not in clean)
    bigrams = _clean_bigrams()
    universe = sorted({c.lower() for c in letters.ALPHABET})
    alts = []
    for ch in sorted(c for c in clean if c.islower() and ord(c) < 0x100):
        after = "".join(y for y in universe if ch + y not in bigrams)
        before = "".join(x for x in universe if x + ch not in bigrams)
        alts.append(_re_class(ch) + _re_class(after))
        alts.append(_re_class(before) + _re_class(ch))
        if ch + " " not in bigrams:
            alts.append(_re_class(ch) + "(?:$|\\PL)")
        if " " + ch not in bigrams:
            alts.append("(?:^|\\PL)" + _re_class(ch))
    return f"regexp_matches({column}, '(?i)(?:{_re_class_ranges(odd)}|{'|'.join(alts)})')"


def _re_class_ranges(chars: str) -> str:
    cps = sorted(ord(c) for c in chars)
    parts, start, prev = [], cps[0], cps[0]
    for cp in [*cps[1:], -1]:
        if cp != prev + 1:
            parts.append(f"\\x{{{start:04X}}}" if start == prev
                         else f"\\x{{{start:04X}}}-\\x{{{prev:04X}}}")
            start = cp
        prev = cp
    return "[" + "".join(parts) + "]"


def via_distinct_sql(source: str, column: str, macros: dict[str, str]) -> str:
    """A query giving every row of ``source`` plus one column per macro of ``column``, with
    each macro evaluated once per *distinct* value and joined back.

    Identity values repeat (a person's doses repeat one typing, common names repeat across
    people: 18 % of the names and 43 % of the IDs are distinct in 2.2M generated records of
    1M people), and the per-row macros cost far more than a hash join, so this is how
    extracts should be standardised; :mod:`tiemchung.reconcile.standardise` does the same.
    Rows keep their columns; the order of rows is not kept. ``source`` is a table name or a
    parenthesised query, ``macros`` maps output column -> ``tc_*`` macro name.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> register_macros(con)
    >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM "
    ...                 "(VALUES ('LÊ  HOÀ'), ('LÊ  HOÀ'), (NULL)) v(n)")
    >>> sorted(con.sql(via_distinct_sql("t", "n", {"k": "tc_fold_name"})).fetchall(),
    ...        key=str)
    [('LÊ  HOÀ', 'le hoa'), ('LÊ  HOÀ', 'le hoa'), (None, None)]
    """
    for name in (column, *macros, *macros.values()):
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not an identifier: {name!r}")
    cols = ", ".join(f"{m}(v) AS {out}" for out, m in macros.items())
    outs = ", ".join(f"_d.{out}" for out in macros)
    return (f"SELECT _s.*, {outs} FROM {source} AS _s LEFT JOIN ("
            f"SELECT v, {cols} FROM (SELECT DISTINCT {column} AS v FROM {source} "
            f"WHERE {column} IS NOT NULL)) AS _d ON _s.{column} = _d.v")
