"""Standardise: every identity value put in one comparable form, with the semantics of
:mod:`tiemchung.identity`.

Names, ID numbers and dates repeat heavily (a person's doses usually repeat one typing, and
common names repeat across people), so each *distinct* value is standardised once and joined
back: that is also the first half of the collapse stage. The value functions below run on a
table of distinct values in DuckDB: names and addresses through the exact columnar path of
:mod:`tiemchung.identity.columnar`, the rest through the ``tc_*`` SQL macros of
:mod:`tiemchung.identity.bulk`. The Spark engine runs the very same functions on Arrow batches
inside its executors, so the two engines cannot disagree on a standardised value.

Python runs only on the few values the SQL pre-filters flag: legacy font encodings
(:func:`~tiemchung.identity.repair_encoding`) and Telex/VNI typing residue
(:func:`~tiemchung.identity.repair_typing`). An encoding repair is formatting (the person typed
the right name in another font), so it feeds both the display form used to find mismatches and
the folded form used to link; a typing repair is not (``Nguyeenx`` *is* a wrong name), so it
feeds only the folded form.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiemchung.identity import (
    columnar,
    iter_admin_units,
    normalize_name,
    repair_encoding,
    repair_typing,
)
from tiemchung.identity.bulk import _re_class, suspect_encoding_sql
from tiemchung.identity.phones import PHONE_SEPARATORS

# ASCII text with a mark of Telex/VNI typing: doubled vowel or dd, a w, a word ending in a tone
# key (no Vietnamese syllable ends in s/f/r/x/j), or a letter followed by a digit.
TELEX_SUSPECT = r"(?i)(aa|ee|oo|dd|w|[a-z][sfrxj]( |$)|[a-z][0-9])"

ValueFn = Callable[[Any, str, str], None]


def _squash_word(word: str) -> str:
    """A word in NFC with its whitespace squashed: ``name_disp``'s only change to a name."""
    return " ".join(unicodedata.normalize("NFC", word).split())


def _norm_word(word: str) -> str:
    return normalize_name(word).lower()


def _threads(con: Any) -> int:
    """The engine's thread cap (``SET threads``) for the columnar work done beside it."""
    return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def _names(con: Any, src: str, out: str) -> None:
    """Names: ``name_norm`` decides mismatches, ``name_fold`` links, ``name_disp`` shows.

    ``name_norm`` is the lower case of :func:`~tiemchung.identity.normalize_name`: equal for
    two names exactly when their display forms are equal (capitals do not matter for that).
    The three forms come from :mod:`tiemchung.identity.columnar`, which gives the Python
    functions' exact answers for a whole column at once (once per distinct word); SQL only
    flags the rows that need a legacy-encoding or typing repair.
    """
    rows = con.sql(
        f"SELECT v, {suspect_encoding_sql('v')} AS enc, "
        f"regexp_full_match(v, '[\\x00-\\x7F]*') AND regexp_matches(v, '{TELEX_SUSPECT}') "
        f"AS telex FROM {src} WHERE v IS NOT NULL AND trim(v) <> ''"
    ).to_arrow_table()
    values = rows.column("v").combine_chunks()
    enc = rows.column("enc").combine_chunks()
    flagged = pc.or_(enc, rows.column("telex").combine_chunks())
    repaired, typed = [], []
    for v, e in zip(
        values.filter(flagged).to_pylist(), enc.filter(flagged).to_pylist(), strict=True
    ):
        nv = unicodedata.normalize("NFC", v)
        fixed = repair_encoding(nv) if e else nv
        repaired.append(fixed)
        typed.append(repair_typing(fixed))
    if repaired:
        shown = pc.replace_with_mask(values, flagged, pa.array(repaired, pa.string()))
        linked = pc.replace_with_mask(values, flagged, pa.array(typed, pa.string()))
    else:
        shown = linked = values
    n = _threads(con)
    forms = pa.table(
        {
            "v": values,
            "name_norm": columnar.map_names(shown, _norm_word, threads=n),
            "name_disp": columnar.map_names(shown, _squash_word, threads=n),
            "name_fold": columnar.fold_names(linked, threads=n),
        }
    )
    con.register("_forms", forms)
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT v, NULLIF(name_norm, '') AS name_norm, "
            "NULLIF(name_disp, '') AS name_disp, NULLIF(name_fold, '') AS name_fold, "
            "string_split(NULLIF(name_fold, ''), ' ')[1] AS surname, "
            "string_split(NULLIF(name_fold, ''), ' ')[-1] AS given, "
            "CAST(len(string_split(NULLIF(name_fold, ''), ' ')) AS INTEGER) AS ntok, "
            # the words in alphabetical order: "Kiên Võ Thế" and "Võ Thế Kiên" are one person
            # typed in another order (a form that asks surname last, a list sorted by given
            # name), which no string similarity of the whole name sees
            "array_to_string(list_sort(string_split(NULLIF(name_fold, ''), ' ')), ' ') "
            "AS name_sorted FROM _forms"
        )
    finally:
        con.unregister("_forms")


def _ids(con: Any, src: str, out: str) -> None:
    # Vietnamese numbers keep their digits (parse_national_id, through the columnar path);
    # anything else (passports, foreign numbers) is compared as upper-case letters and digits.
    # Placeholders (one repeated character, fewer than five characters) are no ID at all.
    values = con.sql(f"SELECT v FROM {src} WHERE v IS NOT NULL").to_arrow_table().column("v")
    parsed = columnar.parse_ids(values, threads=_threads(con))
    con.register(
        "_ids",
        pa.table({"v": values, "d": parsed.column("digits"), "kd": parsed.column("kind")}),
    )
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT v, CASE WHEN length(k) >= 5 "
            "AND length(replace(k, k[1:1], '')) > 0 THEN k END AS id_key, "
            "CASE WHEN length(k) >= 5 AND length(replace(k, k[1:1], '')) > 0 THEN "
            "coalesce(kd, 'other') END AS id_kind FROM ("
            "SELECT v, kd, coalesce(d, upper(regexp_replace(v, '[^0-9A-Za-z]', '', 'g'))) AS k "
            "FROM _ids)"
        )
    finally:
        con.unregister("_ids")


def _dates(con: Any, src: str, out: str) -> None:
    """Dates of birth and dose dates: :func:`~tiemchung.identity.parse_dob` semantics.

    ``tc_dob(x)`` is ``tc__dob_valid(tc__dob_parts(tc__dob_clean(x)))``; applied in three
    nested selects each macro sees a column, not the expansion of the one inside it, which
    takes the planning time from ~1.5 s to ~10 ms (the rows cost the same). A test checks the
    result equals ``tc_dob``.
    """
    con.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT v, "
        "CAST(p.year AS INTEGER) AS dob_y, CAST(p.month AS INTEGER) AS dob_m, "
        "CAST(p.day AS INTEGER) AS dob_d, p.precision AS dob_prec, "
        "CASE WHEN p.year IS NULL THEN NULL WHEN p.month IS NULL THEN printf('%04d', p.year) "
        "WHEN p.day IS NULL THEN printf('%04d-%02d', p.year, p.month) "
        "ELSE printf('%04d-%02d-%02d', p.year, p.month, p.day) END AS dob_iso, "
        "CASE WHEN p.precision = 'day' THEN CAST(date_diff('day', DATE '1970-01-01', "
        "make_date(p.year, p.month, p.day)) AS INTEGER) END AS day_no "
        "FROM (SELECT v, tc__dob_valid(q) AS p FROM (SELECT v, tc__dob_parts(c) AS q FROM ("
        f"SELECT v, tc__dob_clean(v) AS c FROM {src} WHERE v IS NOT NULL)))"
    )


_MALE = ("nam", "m", "male", "trai", "man")
_FEMALE = ("nu", "f", "female", "gai", "woman")


def _sexes(con: Any, src: str, out: str) -> None:
    male = ", ".join(f"'{w}'" for w in _MALE)
    female = ", ".join(f"'{w}'" for w in _FEMALE)
    con.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT v, CASE WHEN tc_fold_name(v) IN ({male}) "
        f"THEN 'M' WHEN tc_fold_name(v) IN ({female}) THEN 'F' END AS sex "
        f"FROM {src} WHERE v IS NOT NULL"
    )


@lru_cache(maxsize=1)
def admin_wards() -> pa.Table:
    """2021-scheme wards with their district and province (for 'same district' levels)."""
    units = [u for u in iter_admin_units("2021") if u.level == "ward"]
    return pa.table(
        {
            "ward": pa.array([u.code for u in units], pa.string()),
            "district": pa.array([u.parent_code for u in units], pa.string()),
            "province": pa.array([u.province_code for u in units], pa.string()),
        }
    )


def _wards(con: Any, src: str, out: str) -> None:
    con.register("_admin", admin_wards())
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT s.v, s.ward, a.district, a.province FROM ("
            "SELECT v, CASE WHEN regexp_full_match(trim(v), '[0-9]{1,5}') "
            f"THEN lpad(trim(v), 5, '0') END AS ward FROM {src} WHERE v IS NOT NULL) s "
            "LEFT JOIN _admin a ON a.ward = s.ward"
        )
    finally:
        con.unregister("_admin")


def _phones(con: Any, src: str, out: str) -> None:
    """:func:`~tiemchung.identity.normalize_phone` semantics: ``tc_phone`` applied in nested
    selects (separators, then prefixes, then the final check), so each macro expands over a
    column instead of over the one inside it: 6x faster, same values (tested)."""
    sep = _re_class(PHONE_SEPARATORS).replace("'", "''")
    con.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT v, tc__phone_final(n) AS phone FROM ("
        "SELECT v, tc__phone_stage(s) AS n FROM (SELECT v, "
        f"regexp_replace(v, '{sep}', '', 'g') AS s FROM {src} WHERE v IS NOT NULL))"
    )


#: words of a Vietnamese address that name a kind of unit, not a place ("Phường 11",
#: "P.11", "F.11" are all "11" of some district), with their abbreviations: one spelling
#: each, so that a full and an abbreviated typing of one address give the same tokens.
ADDRESS_UNITS = {
    **{w: "xa" for w in ("xa", "x")},
    **{w: "phuong" for w in ("phuong", "p", "f")},
    **{w: "huyen" for w in ("huyen", "h")},
    **{w: "quan" for w in ("quan", "q")},
    **{w: "tinh" for w in ("tinh", "t")},
    **{w: "thanhpho" for w in ("thanhpho", "tp")},
    **{w: "thixa" for w in ("thixa", "tx")},
    **{w: "thitran" for w in ("thitran", "tt")},
}
#: multi-word unit names, joined before the words are split
_ADDRESS_UNIT_PHRASES = {"thanh pho": "thanhpho", "thi xa": "thixa", "thi tran": "thitran"}
#: words that say nothing of the place ("Số 12", "đường Lê Lợi")
_ADDRESS_FILLER = ("so", "duong")


def _address_words(folded: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The folded addresses' words in order, flat (``mapped``, with ``parents[j]`` the
    address of word ``j``): unit words in one spelling, ``|`` where a part ends (a comma, a
    dash; one or several), no filler words.

    Worked out once per distinct comma-separated part (:func:`_text_words`) and laid out per
    address: a register's addresses repeat their ward, district and province in every
    household (1M synth people: 727k parts, 47k distinct, a twelfth of the text). Each part
    is worked with the commas around it, so a unit phrase or a dash next to a comma reads as
    in the whole address; the words are the whole address's but for a ``|`` repeated where
    two parts meet, which no address column counts (``|`` is no token, and a pair of words
    never spans one)."""
    parts = pc.split_pattern(pc.fill_null(folded, ""), ",")
    flat = pc.list_flatten(parts)
    owner = pc.list_parent_indices(parts).to_numpy()
    lens = pc.list_value_length(parts).to_numpy().astype(np.int64)
    # (every address has at least one part: "" splits into [""])
    pos = np.arange(len(flat)) - np.repeat(np.cumsum(lens) - lens, lens)
    before = pa.array(np.where(pos > 0, ",", ""))
    after = pa.array(np.where(pos < np.repeat(lens, lens) - 1, ",", ""))
    enc = pc.dictionary_encode(pc.binary_join_element_wise(before, flat, after, ""))
    words, word_part = _text_words(enc.dictionary)
    keep = pc.not_equal(words, "").to_numpy(zero_copy_only=False)
    words, word_part = words.filter(pa.array(keep)), word_part[keep]
    count = np.bincount(word_part, minlength=len(enc.dictionary)).astype(np.int64)
    start = np.cumsum(count) - count
    used = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    k = count[used]  # words of each part of every address, in order
    take = np.repeat(start[used] - (np.cumsum(k) - k), k) + np.arange(int(k.sum()))
    return words.take(pa.array(take)), np.repeat(owner, k).astype(np.int64)


def _text_words(folded: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The words of each folded text (see :func:`_address_words`), ``''`` for a filler word
    and at the ends. Arrow does the text (two regular expressions over every value,
    vectorised) and Python only maps the few thousand distinct words: the lambdas of SQL
    list functions took 6 s for 900k addresses."""
    x = pc.binary_join_element_wise(" ", pc.fill_null(folded, ""), " ")
    for phrase, word in _ADDRESS_UNIT_PHRASES.items():
        x = pc.replace_substring(x, f" {phrase} ", f" {word} ")
    x = pc.replace_substring_regex(x, r"[,;/()]| - ", " | ")
    # words: the runs of letters, digits and "|" (the empty ones, at the ends, map to '')
    lists = pc.split_pattern_regex(x, r"[^a-z0-9|]+")
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy()
    uniq = pc.unique(flat)
    canon = pa.array(
        ["" if u in _ADDRESS_FILLER else ADDRESS_UNITS.get(u, u) for u in uniq.to_pylist()],
        pa.string(),
    )
    return pc.take(canon, pc.index_in(flat, uniq)), parents


def _lists(items: pa.Array, parents: np.ndarray, n: int) -> pa.ListArray:
    """``n`` lists (one per address, maybe empty) of ``items``, whose ``parents`` (address
    of each item) are in ascending order."""
    offsets = np.concatenate([[0], np.cumsum(np.bincount(parents, minlength=n))])
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), items)


def _sorted_sets(tokens: pa.Array, parents: np.ndarray, n: int) -> pa.Array:
    """Per address, its distinct ``tokens`` in ascending order joined by a space (``''`` for
    none): one sort of (address, token) pairs for every address at once, where DuckDB's
    ``list_sort(list_distinct(..))`` ran a lambda per list. The tokens are ``[a-z0-9]``, whose
    code-point order is the byte order SQL sorts text by."""
    uniq = pc.unique(tokens)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(np.asarray(uniq.to_pylist(), dtype=object), kind="stable")] = np.arange(
        len(uniq)
    )
    codes = rank[pc.index_in(tokens, uniq).to_numpy(zero_copy_only=False)]
    # (address, token) as one number, sorted, repeats out (np.sort: NumPy 2's np.unique
    # hashes, 15x slower here)
    k = max(len(uniq), 1)
    pairs = np.sort(parents.astype(np.int64) * k + codes)
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    p, c = pairs // k, pairs % k
    chosen = pc.take(pc.take(uniq, pa.array(np.argsort(rank))), pa.array(c))
    return pc.binary_join(_lists(chosen, p, n), " ")


#: bits per word of an address's token mask (two words: 126 positions)
_MASK_BITS = 63


def _token_bits(con: Any, tokens: pa.Array, parents: np.ndarray, n: int) -> list[pa.Array]:
    """The address's token set as a 126-bit mask in two BIGINT words, each token one bit,
    at position DuckDB ``hash(token) % 126`` (found once per distinct token). Comparing two
    addresses is then two ``&`` and a bit count, the same in every engine, instead of
    splitting and intersecting two lists for each of millions of candidate pairs (5x the time
    of all the other comparisons). Two tokens may share a bit, so the overlap is an estimate:
    on average one token in 18 of another address lands on a bit of this one; u, learnt from
    random pairs, counts that in."""
    uniq = pc.unique(tokens)
    con.register("_tok", pa.table({"i": pa.array(np.arange(len(uniq))), "t": uniq}))
    try:
        pos = (
            con.sql(f"SELECT CAST(hash(t) % {2 * _MASK_BITS} AS INTEGER) AS b FROM _tok ORDER BY i")
            .to_arrow_table()
            .column("b")
            .to_numpy()
        )
    finally:
        con.unregister("_tok")
    at = pos[pc.index_in(tokens, uniq).to_numpy(zero_copy_only=False)].astype(np.int64)
    out = []
    for word in (0, 1):
        lo = word * _MASK_BITS
        inside = (at >= lo) & (at < lo + _MASK_BITS)
        bits = np.where(inside, np.left_shift(np.int64(1), np.clip(at - lo, 0, 62)), 0)
        mask = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(mask, parents, bits)
        out.append(pa.array(mask, pa.int64()))
    return out


def _place_columns(con: Any, mapped: pa.Array, parents: np.ndarray, n: int) -> dict[str, pa.Array]:
    """``addr_toks``, ``addr_b1``, ``addr_b2``, ``addr_num`` of the place tokens (the words
    that are no unit word and no ``|``) of ``n`` addresses (see :func:`_addresses`)."""
    units = pa.array(sorted({*ADDRESS_UNITS.values(), "|"}), pa.string())
    place = pc.and_(pc.not_equal(mapped, ""), pc.invert(pc.is_in(mapped, units)))
    w = mapped.filter(place)
    wp = parents[place.to_numpy(zero_copy_only=False)]
    numeric = pc.match_substring_regex(w, "^[0-9]+$").to_numpy(zero_copy_only=False)
    has_place = pa.array(np.bincount(wp, minlength=n) > 0)
    b1, b2 = _token_bits(con, w, wp, n)
    nums = _sorted_sets(w.filter(pa.array(numeric)), wp[numeric], n)
    return {
        "addr_toks": _sorted_sets(w, wp, n),
        "addr_b1": b1,
        "addr_b2": b2,
        "addr_num": pc.if_else(has_place, nums, pa.scalar(None, pa.string())),
    }


def _gram_column(mapped: pa.Array, parents: np.ndarray, n: int) -> pa.Array:
    """``addr_grams`` of ``n`` addresses: their neighbouring words, neither of them a part's
    end (``|``), as ``a b`` pairs joined by ``|`` (see :func:`_addresses`)."""
    words = pc.not_equal(mapped, "")
    s, sp = mapped.filter(words), parents[words.to_numpy(zero_copy_only=False)]
    part = pc.not_equal(s, "|").to_numpy(zero_copy_only=False)
    first = np.flatnonzero((sp[1:] == sp[:-1]) & part[1:] & part[:-1])
    grams = pc.binary_join_element_wise(
        pc.take(s, pa.array(first)), pc.take(s, pa.array(first + 1)), " "
    )
    return pc.binary_join(_lists(grams, sp[first], n), "|")


def _addresses(con: Any, src: str, out: str) -> None:
    """Addresses: ``addr_key`` (folded, the household's key), and for comparing free text
    typed in any style: ``addr_toks`` (the distinct place tokens, sorted: the same set for
    "Số 12 Hẻm 135 Lê Duẩn, Phường 11" and "12 hẻm 135 Lê Duẩn P.11"), ``addr_b1`` and
    ``addr_b2`` (that set as a bit mask, :func:`_token_bits`), ``addr_num`` (the numbers
    among them: house, alley, hamlet, urban ward; ``''`` when it has place tokens but no
    number), and ``addr_grams`` (pairs of neighbouring tokens within one part of the address,
    ``|``-joined): a pair such as "tra phong" or "11 tan" that the register only ever writes
    for one ward tells the ward of an address typed without a ward code
    (:func:`tiemchung.reconcile.places.address_place_sql`). All in Arrow and NumPy over the flat
    words of every address: SQL list lambdas took most of this function's time."""
    values = con.sql(f"SELECT v FROM {src} WHERE v IS NOT NULL").to_arrow_table().column("v")
    folded = columnar.fold_names(values, threads=_threads(con)).combine_chunks()
    mapped, parents = _address_words(folded)
    # (each group of columns in a function of its own: its word arrays are freed before
    # the next, which keeps a 1M register's peak memory where the SQL lambdas had it)
    cols = {"v": values, "addr_key": folded}
    cols.update(_place_columns(con, mapped, parents, len(folded)))
    cols["addr_grams"] = _gram_column(mapped, parents, len(folded))
    del mapped, parents
    table = pa.table(cols)
    del cols
    con.register("_addr", table)
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT v, NULLIF(addr_key, '') AS addr_key, "
            "NULLIF(addr_toks, '') AS addr_toks, addr_b1, addr_b2, addr_num, "
            "NULLIF(addr_grams, '') AS addr_grams FROM _addr"
        )
    finally:
        con.unregister("_addr")
    del table
    # the word arrays' memory back to the system now (Arrow's allocator keeps freed pages):
    # the engine's own tables grow into it for the rest of the run
    pa.default_memory_pool().release_unused()


def _ints(con: Any, src: str, out: str) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT v, "
        "TRY_CAST(NULLIF(regexp_extract(v, '[0-9]+'), '') AS INTEGER) AS n "
        f"FROM {src} WHERE v IS NOT NULL"
    )


_S = pa.string()
_I = pa.int32()
_L = pa.int64()

#: kind -> (standardiser, its table's schema); the costliest first (names: Python once per
#: distinct word; then addresses), the order in which a run starts them: two threads
#: taking the longest job left finish together (addresses last left a core idle ~1 s)
KINDS: dict[str, tuple[ValueFn, pa.Schema]] = {
    "name": (
        _names,
        pa.schema(
            [
                ("v", _S),
                ("name_norm", _S),
                ("name_disp", _S),
                ("name_fold", _S),
                ("surname", _S),
                ("given", _S),
                ("ntok", _I),
                ("name_sorted", _S),
            ]
        ),
    ),
    "addr": (
        _addresses,
        pa.schema(
            [
                ("v", _S),
                ("addr_key", _S),
                ("addr_toks", _S),
                ("addr_b1", _L),
                ("addr_b2", _L),
                ("addr_num", _S),
                ("addr_grams", _S),
            ]
        ),
    ),
    "id": (_ids, pa.schema([("v", _S), ("id_key", _S), ("id_kind", _S)])),
    "phone": (_phones, pa.schema([("v", _S), ("phone", _S)])),
    "date": (
        _dates,
        pa.schema(
            [
                ("v", _S),
                ("dob_y", _I),
                ("dob_m", _I),
                ("dob_d", _I),
                ("dob_prec", _S),
                ("dob_iso", _S),
                ("day_no", _I),
            ]
        ),
    ),
    "ward": (_wards, pa.schema([("v", _S), ("ward", _S), ("district", _S), ("province", _S)])),
    "sex": (_sexes, pa.schema([("v", _S), ("sex", _S)])),
    "int": (_ints, pa.schema([("v", _S), ("n", _I)])),
}


#: Standardised columns each kind contributes (without ``v``), and their SQL types when the
#: input column is absent.
def out_columns(kind: str) -> list[tuple[str, str]]:
    schema = KINDS[kind][1]
    types = {_I: "INTEGER", _L: "BIGINT"}
    return [(f.name, types.get(f.type, "STRING")) for f in schema if f.name != "v"]
