"""Incremental linking equals a batch run over old + new records with the same model."""

from __future__ import annotations

import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import Options, ReconcileInputError, reconcile
from tiemchung.reconcile.incremental import link_new
from tiemchung.synth import generate


def _links(out: Path) -> dict[str, dict]:
    return {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}


def test_incremental_equals_batch_with_the_same_model(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(1500, 11, data, workers=1)
    recs = pq.read_table(data / "records.parquet")
    ids = recs.column("record_id").to_pylist()
    # a fifth of the records arrive later (picked by a hash, so doses of one person and
    # double entries of one dose fall on both sides)
    late = pa.array([zlib.crc32(str(i).encode()) % 5 == 0 for i in ids])
    old, new = recs.filter(pa.compute.invert(late)), recs.filter(late)
    pq.write_table(old, tmp_path / "old.parquet")
    pq.write_table(new, tmp_path / "new.parquet")
    pq.write_table(recs, tmp_path / "all.parquet")
    register = data / "register.parquet"

    first = tmp_path / "first"
    reconcile(Options(tmp_path / "old.parquet", register, first, threads=2))
    model = first / "model.json"
    inc = tmp_path / "inc"
    summary = link_new(first, tmp_path / "new.parquet", register, inc, threads=2)
    batch = tmp_path / "batch"
    reconcile(Options(tmp_path / "all.parquet", register, batch, model=model, threads=2))

    a, b = _links(inc), _links(batch)
    assert a.keys() == b.keys() == set(ids)
    different = [k for k in a if a[k] != b[k]]
    assert different == [], [(a[k], b[k]) for k in different[:3]]
    # the test means something: double entries across the two parts were found, and some
    # earlier links changed because of the new records
    first_links = _links(first)
    old_ids, new_ids = (
        set(old.column("record_id").to_pylist()),
        set(new.column("record_id").to_pylist()),
    )
    cross = [
        r
        for r in a.values()
        if r["action"] == "duplicate"
        and (r["record_id"] in new_ids) != (r["duplicate_of"] in new_ids)
    ]
    assert cross, "no double entry across old and new records"
    changed = [k for k in old_ids if first_links[k]["action"] != a[k]["action"]]
    assert summary["incremental"]["changed_previous"] >= len(changed) > 0
    assert summary["incremental"]["new_records"] == len(new_ids)
    assert summary["overall"]["records"] == len(ids)
    # the output is itself a state for the next increment
    assert pq.read_metadata(inc / "state.parquet").num_rows == len(ids)


def test_incremental_needs_an_earlier_state(tmp_path: Path) -> None:
    (tmp_path / "prev").mkdir()
    (tmp_path / "prev" / "model.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReconcileInputError, match=r"state\.parquet"):
        link_new(tmp_path / "prev", tmp_path / "n.csv", tmp_path / "r.csv", tmp_path / "out")
