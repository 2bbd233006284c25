"""Incremental linking equals a batch run over old + new records with the same model."""

from __future__ import annotations

import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import Options, ReconcileInputError, reconcile
from tiemchung.reconcile.incremental import link_new, recheck_register
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
    # the new records come in two increments, the second starting from the first's output
    # (whose state numbers the identities of both earlier runs)
    half = pa.array([zlib.crc32(f"h{i}".encode()) % 2 == 0 for i in new.column("record_id")])
    pq.write_table(new.filter(half), tmp_path / "new1.parquet")
    pq.write_table(new.filter(pa.compute.invert(half)), tmp_path / "new2.parquet")
    pq.write_table(recs, tmp_path / "all.parquet")
    register = data / "register.parquet"

    first = tmp_path / "first"
    reconcile(Options(tmp_path / "old.parquet", register, first, threads=2))
    model = first / "model.json"
    inc1, inc = tmp_path / "inc1", tmp_path / "inc"
    link_new(first, tmp_path / "new1.parquet", register, inc1, threads=2)
    summary = link_new(inc1, tmp_path / "new2.parquet", register, inc, threads=2)
    batch = tmp_path / "batch"
    reconcile(Options(tmp_path / "all.parquet", register, batch, model=model, threads=2))

    a, b = _links(inc), _links(batch)
    assert a.keys() == b.keys() == set(ids)
    different = [k for k in a if a[k] != b[k]]
    assert different == [], [
        {c: (a[k][c], b[k][c]) for c in a[k] if a[k][c] != b[k][c]} for k in different[:3]
    ]
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
    assert changed
    assert (
        summary["incremental"]["new_records"]
        == pq.read_metadata(tmp_path / "new2.parquet").num_rows
    )
    assert summary["overall"]["records"] == len(ids)
    # the output is itself a state for the next increment: one row per record, every
    # record's identity in it once
    assert pq.read_metadata(inc / "state.parquet").num_rows == len(ids)
    idents = pq.read_table(inc / "state_identities.parquet").column("iid").to_pylist()
    assert len(idents) == len(set(idents))
    assert set(pq.read_table(inc / "state.parquet").column("iid").to_pylist()) == set(idents)


def test_incremental_refuses_a_state_without_its_identities(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(200, 3, data, workers=1)
    first = tmp_path / "first"
    reconcile(Options(data / "records.parquet", data / "register.parquet", first, threads=2))
    (first / "state_identities.parquet").unlink()  # as an older version left it
    with pytest.raises(ReconcileInputError, match=r"state_identities\.parquet.*in batch"):
        link_new(first, data / "records.parquet", data / "register.parquet", tmp_path / "o")


def test_incremental_needs_an_earlier_state(tmp_path: Path) -> None:
    (tmp_path / "prev").mkdir()
    (tmp_path / "prev" / "model.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReconcileInputError, match=r"state\.parquet"):
        link_new(tmp_path / "prev", tmp_path / "n.csv", tmp_path / "r.csv", tmp_path / "out")


def _pick(ids: list[str], salt: str, share: int) -> set[str]:
    return {i for i in ids if zlib.crc32(f"{salt}{i}".encode()) % share == 0}


def test_register_update_rechecks_only_affected_records_and_equals_batch(
    tmp_path: Path,
) -> None:
    data = tmp_path / "synth"
    generate(1500, 11, data, workers=1)
    register = pq.read_table(data / "register.parquet")
    truth = pq.read_table(data / "truth.parquet")
    with_records = sorted({p for p in truth.column("person_id").to_pylist() if p})
    reg_ids = set(register.column("person_id").to_pylist())
    people = [p for p in with_records if p in reg_ids]
    # disjoint sets of register persons who have dose records: A are added by the update
    # (missing from the old snapshot), B corrected (the old snapshot had a wrong name or
    # date of birth), C removed (the new snapshot lacks them)
    added = set(sorted(_pick(people, "a", 50))[:15])
    fixed = set(sorted(_pick(people, "b", 50) - added)[:16])
    removed = set(sorted(_pick(people, "c", 50) - added - fixed)[:15])
    assert (len(added), len(fixed), len(removed)) == (15, 16, 15)
    rows = register.to_pylist()
    old_rows = []
    wrong_name = set(sorted(fixed)[:8])
    for r in rows:
        if r["person_id"] in added:
            continue
        r = dict(r)
        if r["person_id"] in wrong_name:
            r["full_name"] = r["full_name"] + " Anh"  # an extra given name in the old snapshot
        elif r["person_id"] in fixed:
            r["dob"] = "1931-07-07"  # a wrong date of birth in the old snapshot
        old_rows.append(r)
    new_rows = [r for r in rows if r["person_id"] not in removed]
    pq.write_table(pa.Table.from_pylist(old_rows, schema=register.schema), tmp_path / "old.parquet")
    pq.write_table(pa.Table.from_pylist(new_rows, schema=register.schema), tmp_path / "new.parquet")
    records = data / "records.parquet"
    ids = pq.read_table(records, columns=["record_id"]).column("record_id").to_pylist()

    first = tmp_path / "first"
    reconcile(Options(records, tmp_path / "old.parquet", first, threads=2))
    upd = tmp_path / "upd"
    summary = recheck_register(first, records, tmp_path / "new.parquet", upd, threads=2)
    batch = tmp_path / "batch"
    reconcile(
        Options(records, tmp_path / "new.parquet", batch, model=first / "model.json", threads=2)
    )

    a, b = _links(upd), _links(batch)
    assert a.keys() == b.keys() == set(ids)
    different = [k for k in a if a[k] != b[k]]
    assert different == [], [
        {c: (a[k][c], b[k][c]) for c in a[k] if a[k][c] != b[k][c]} for k in different[:3]
    ]
    ru = summary["register_update"]
    assert (ru["persons_added"], ru["persons_removed"], ru["persons_changed"]) == (15, 15, 16)
    # far fewer records scored than the batch: the re-check's own pipeline saw only them
    assert 0 < ru["records_rechecked"] < len(ids) / 5
    assert ru["records_rechecked"] + ru["records_kept"] == len(ids)
    assert ru["recheck_pipeline"]["identities"] < len(ids) / 5
    # the test means something: the update changed the links of the persons it touched
    person_of = dict(
        zip(
            truth.column("record_id").to_pylist(),
            truth.column("person_id").to_pylist(),
            strict=True,
        )
    )
    old = _links(first)
    groups = {"added": added, "fixed": fixed, "removed": removed}
    moved = {
        name: sum(1 for k in ids if person_of.get(k) in grp and old[k] != a[k])
        for name, grp in groups.items()
    }
    assert all(n > 0 for n in moved.values()), moved
    assert ru["changed_links"] > 0
    # the output is a state for the next update or increment
    assert pq.read_metadata(upd / "state.parquet").num_rows == len(ids)
    assert pq.read_metadata(upd / "register_std.parquet").num_rows == len(new_rows)


def test_register_update_needs_the_state_s_records(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(200, 3, data, workers=1)
    first = tmp_path / "first"
    reconcile(Options(data / "records.parquet", data / "register.parquet", first, threads=1))
    recs = pq.read_table(data / "records.parquet")
    pq.write_table(recs.slice(0, recs.num_rows - 5), tmp_path / "fewer.parquet")
    with pytest.raises(ReconcileInputError, match=r"5 of the state's records missing"):
        recheck_register(
            first, tmp_path / "fewer.parquet", data / "register.parquet", tmp_path / "o"
        )


def test_increments_refuse_records_without_ids_or_seen_before(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(200, 3, data, workers=1)
    recs = pq.read_table(data / "records.parquet")
    first = tmp_path / "first"
    pq.write_table(recs.slice(0, 300), tmp_path / "old.parquet")
    reconcile(Options(tmp_path / "old.parquet", data / "register.parquet", first, threads=1))
    ids = recs.column("record_id").to_pylist()
    no_ids = recs.slice(300, 20).set_column(
        0, "record_id", pa.array([None, *ids[301:320]], pa.string())
    )
    pq.write_table(no_ids, tmp_path / "no_ids.parquet")
    with pytest.raises(ReconcileInputError, match=r"1 dòng không có record_id"):
        link_new(first, tmp_path / "no_ids.parquet", data / "register.parquet", tmp_path / "o")
    pq.write_table(recs.slice(290, 20), tmp_path / "again.parquet")
    with pytest.raises(ReconcileInputError, match=r"10 bản ghi đã có"):
        link_new(first, tmp_path / "again.parquet", data / "register.parquet", tmp_path / "o2")


def test_an_unchanged_register_rechecks_nothing(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(200, 5, data, workers=1)
    records, register = data / "records.parquet", data / "register.parquet"
    first = tmp_path / "first"
    reconcile(Options(records, register, first, threads=1))
    summary = recheck_register(first, records, register, tmp_path / "same", threads=1)
    ru = summary["register_update"]
    assert (ru["persons_added"], ru["persons_removed"], ru["persons_changed"]) == (0, 0, 0)
    assert ru["records_rechecked"] == 0 and ru["changed_links"] == 0
    assert _links(tmp_path / "same") == _links(first)
    assert (tmp_path / "same" / "register_std.parquet").is_file()
