"""The columnar bulk path gives exactly the Python functions' answers, row by row."""

from __future__ import annotations

import random
import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiemchung.identity import IdentityError, columnar, fold_name, normalize_name, parse_national_id
from tiemchung.identity.columnar import ID_SCHEMA, fold_names, normalize_names, parse_ids

from .synth import id_text, messy, name

N = 200_000

ODD = [
    "", " ", "\t\n", "  x  ", "François Müller", unicodedata.normalize("NFD", "Đặng Thị Thủy"),
    "Ð Ø ß", "a\u2003b\u00a0c", "\u00a0\u00a0", "ǅ", "İstanbul", "ΟΔΟΣ ΟΔΟΣ", "a \u0301 b",
    "\u0301", "h'hen nie", "NGUYỄN-VĂN", "x\x1cy\x1fz", "trần\u2028thị", "ﬁ ﬂ", "Hòang Thuỷ",
    "a\u2000b", "\U0001f600 Lê", "Nguyá»…n", "  lê  \r\n",
]


@pytest.fixture(scope="module")
def names() -> list[str | None]:
    rng = random.Random(31)
    values: list[str | None] = [messy(rng, name(rng)) for _ in range(N)]
    for k, i in enumerate(range(0, N, 997)):  # odd text and nulls spread through every chunk
        values[i] = None if k % 3 == 0 else ODD[k % len(ODD)]
    return values


def _expected(fn, values: list[str | None]) -> list[str | None]:  # type: ignore[no-untyped-def]
    return [None if v is None else fn(v) for v in values]


@pytest.mark.parametrize("bulk, fn", [(fold_names, fold_name), (normalize_names, normalize_name)])
def test_names_agree_on_every_row(names: list[str | None], bulk, fn,  # type: ignore[no-untyped-def]
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 30_001)  # several chunks and threads
    got = bulk(pa.array(names, pa.string()), threads=2).to_pylist()
    want = _expected(fn, names)
    bad = [(v, g, w) for v, g, w in zip(names, got, want, strict=True) if g != w]
    assert bad[:5] == []
    assert len(got) == N and got.count(None) == names.count(None) > 0


def test_names_accept_slices_chunks_large_strings_and_lists() -> None:
    values = ["  nguyễn   THỊ  thuỷ ", None, "LÊ HOÀ", "", "Đỗ\tMười"]
    want = _expected(normalize_name, values)
    arr = pa.array(["junk", *values, "junk"], pa.string()).slice(1, len(values))
    assert normalize_names(arr).to_pylist() == want
    assert normalize_names(pa.chunked_array([values[:2], values[2:]])).to_pylist() == want
    assert normalize_names(pa.array(values, pa.large_string())).to_pylist() == want
    assert normalize_names(values).to_pylist() == want
    assert fold_names([]).to_pylist() == []
    with pytest.raises(TypeError, match="string"):
        fold_names(pa.array([1, 2]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40))
def test_names_agree_on_arbitrary_text(values: list[str | None]) -> None:
    assert fold_names(values).to_pylist() == _expected(fold_name, values)
    assert normalize_names(values).to_pylist() == _expected(normalize_name, values)


def _python_ids(values: list[str | None]) -> list[dict[str, object]]:
    rows = []
    for v in values:
        row: dict[str, object] = dict.fromkeys(ID_SCHEMA.names)
        if v is not None:
            try:
                nid = parse_national_id(v)
            except IdentityError as exc:
                row["error"] = exc.code
            else:
                row.update(digits=nid.digits, kind=nid.kind, province=nid.province_code,
                           province_name=nid.province_name, sex=nid.sex,
                           birth_year=nid.birth_year)
        rows.append(row)
    return rows


def test_ids_agree_on_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(32)
    values: list[str | None] = [id_text(rng) for _ in range(N)]
    extra = ["079\u00a0185\u2013012345", "0791850123４5", "", "  ", "00109001234", "12-34",
             "179185012345", "001.090-012345\r\n", "0011\u202f90012345", "é"]
    for k, i in enumerate(range(0, N, 1009)):
        values[i] = None if k % 3 == 0 else extra[k % len(extra)]
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 40_003)
    got = parse_ids(pa.array(values, pa.string()), threads=2)
    assert got.schema == ID_SCHEMA
    want = _python_ids(values)
    rows = got.to_pylist()
    bad = [(v, g, w) for v, g, w in zip(values, rows, want, strict=True) if g != w]
    assert bad[:5] == []
    errors = {r["error"] for r in rows}
    assert {"id_empty", "id_bad_char", "id_length_11", "id_length", None} <= errors
    assert sum(r["kind"] == "cccd" for r in rows) > N // 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    "0123456789 .-\t\u00a0\u2013x٣"), max_size=16)), max_size=30))
def test_ids_agree_on_arbitrary_text(values: list[str | None]) -> None:
    assert parse_ids(values).to_pylist() == _python_ids(values)
