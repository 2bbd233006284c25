"""The address columns (tokens, numbers, bit mask, token pairs) are computed over the flat
words of every address at once (Arrow and NumPy). They must equal what SQL list functions
give for each address's word lists, the formulation they replaced: the links depend on them."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tiemchung.identity import columnar
from tiemchung.reconcile import standardise
from tiemchung.reconcile.standardise import ADDRESS_UNITS, KINDS, _address_words

ADDRESSES = [
    "Số 12 Hẻm 135 Lê Duẩn, Phường 11, Quận Tân Bình, Thành phố Hồ Chí Minh",
    "12 hẻm 135 Lê Duẩn P.11 Q. Tân Bình TP Hồ Chí Minh",
    "Xóm 1, Xã Vĩnh Quang, Huyện Vĩnh Lộc",
    "253 đường Phan Chu Trinh, X Trịnh Xá, TP.Phủ Lý",
    "Thị trấn Xuân An - Huyện Nghi Xuân (Hà Tĩnh)",
    "12 12 12 / 7",
    "Số",  # a filler word only: no place tokens
    "Phường 5, Quận 10",  # numbers and unit words
    ",,, ; /",
    "",
    "a b a b, b a",  # repeated tokens and pairs
    "Thôn Đông, xã Yên Phong",
]

# the SQL of the formulation replaced (DuckDB list functions over each address's lists)
_BIT = (
    "CASE WHEN CAST(hash(t) % 126 AS INTEGER) >= {lo} AND CAST(hash(t) % 126 AS INTEGER) < {hi} "
    "THEN CAST(1 AS BIGINT) << (CAST(hash(t) % 126 AS INTEGER) - {lo}) ELSE CAST(0 AS BIGINT) END"
)
_B1 = _BIT.format(lo=0, hi=63)
_B2 = _BIT.format(lo=63, hi=126)
_SQL = (
    "SELECT v, NULLIF(k, '') AS addr_key, "
    "NULLIF(array_to_string(list_sort(list_distinct(w)), ' '), '') AS addr_toks, "
    f"list_reduce(list_append(list_transform(w, lambda t: {_B1}), CAST(0 AS BIGINT)), "
    "lambda a, b: a | b) AS addr_b1, "
    f"list_reduce(list_append(list_transform(w, lambda t: {_B2}), CAST(0 AS BIGINT)), "
    "lambda a, b: a | b) AS addr_b2, "
    "CASE WHEN len(w) > 0 THEN array_to_string(list_sort(list_distinct(list_filter(w, "
    "lambda t: regexp_full_match(t, '[0-9]+')))), ' ') END AS addr_num, "
    "NULLIF(array_to_string(list_filter(list_transform(range(1, len(s)), "
    "lambda j: CASE WHEN s[j] <> '|' AND s[j + 1] <> '|' THEN s[j] || ' ' || s[j + 1] "
    "END), lambda g: g IS NOT NULL), '|'), '') AS addr_grams FROM _lists"
)


def _lists(values: list[str]) -> pa.Table:
    folded = columnar.fold_names(pa.array(values, pa.string())).combine_chunks()
    mapped, parents = _address_words(folded)
    units = {*ADDRESS_UNITS.values(), "|"}
    s: list[list[str]] = [[] for _ in values]
    w: list[list[str]] = [[] for _ in values]
    for word, p in zip(mapped.to_pylist(), parents.tolist(), strict=True):
        if word:
            s[p].append(word)
            if word not in units:
                w[p].append(word)
    return pa.table({"v": values, "k": folded, "s": s, "w": w})


def test_vectorised_address_columns_equal_the_sql_list_formulation() -> None:
    con = duckdb.connect()
    con.register("src", pa.table({"v": pa.array(ADDRESSES, pa.string())}))
    KINDS["addr"][0](con, "src", "got")
    con.register("_lists", _lists(ADDRESSES))
    want = con.sql(_SQL).to_arrow_table().sort_by("v")
    got = con.sql("SELECT * FROM got").to_arrow_table().sort_by("v")
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()


def test_address_columns_of_known_addresses() -> None:
    con = duckdb.connect()
    con.register("src", pa.table({"v": pa.array(ADDRESSES, pa.string())}))
    KINDS["addr"][0](con, "src", "got")
    rows = {r["v"]: r for r in con.sql("SELECT * FROM got").to_arrow_table().to_pylist()}
    assert rows["12 12 12 / 7"]["addr_toks"] == "12 7"
    assert rows["12 12 12 / 7"]["addr_grams"] == "12 12|12 12"
    assert rows["a b a b, b a"]["addr_toks"] == "a b"
    assert rows["Số"]["addr_toks"] is None and rows["Số"]["addr_num"] is None
    assert rows["Thôn Đông, xã Yên Phong"]["addr_num"] == ""  # place tokens, no number
    assert rows["Phường 5, Quận 10"]["addr_num"] == "10 5"
    # a set of one token has one bit; the same token set, the same bits
    one = [rows[v] for v in ADDRESSES[:2]]
    assert one[0]["addr_b1"] == one[1]["addr_b1"] and one[0]["addr_b2"] == one[1]["addr_b2"]
    bits = np.array([rows["a b a b, b a"]["addr_b1"], rows["a b a b, b a"]["addr_b2"]])
    assert 1 <= sum(bin(int(b)).count("1") for b in bits) <= 2
    assert pc.sum(pc.is_null(pa.array([r["addr_b1"] for r in rows.values()]))).as_py() == 0


def _columns(values: list[str]) -> list[dict[str, object]]:
    con = duckdb.connect()
    con.register("src", pa.table({"v": pa.array(values, pa.string())}))
    KINDS["addr"][0](con, "src", "got")
    return con.sql("SELECT * FROM got ORDER BY v").to_arrow_table().to_pylist()


def _adversarial(n: int) -> list[str]:
    """Addresses made of what the part boundaries could break: commas next to unit
    phrases, dashes and spaces, several commas in a row, other separators, marks."""
    rng = random.Random(7)
    alphabet = [*"abc tđĐồ12,;/()-", " thanh pho", " thi xa", " thi tran", " - ", ", ", " ,"]
    alphabet += [",,", "\u00a0", "\u0301", "\uff0c", "Phường", "P.", "số", "đường"]
    return sorted(
        {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(n)}
    )


@pytest.mark.parametrize("values", [ADDRESSES, _adversarial(5000)], ids=["known", "adversarial"])
def test_words_by_part_give_the_whole_address_columns(
    values: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The words are worked out per distinct comma-separated part and laid out per address
    (standardise._address_words); every column must be what the whole address's words give
    (standardise._text_words on each address, the formulation it replaced)."""
    by_part = _columns(values)
    monkeypatch.setattr(standardise, "_address_words", standardise._text_words)
    whole = _columns(values)
    assert len(by_part) == len(values)
    assert by_part == whole
