"""The command line: a run, its exit codes, and the scorer."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from typer.testing import CliRunner

from tiemchung.cli.main import app

from .conftest import Case, records, site_records

runner = CliRunner()


def _write_records(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as a records CSV with the canonical columns."""
    from .conftest import RECORD_COLS

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=RECORD_COLS)
        w.writeheader()
        w.writerows(rows)
    return path


def test_reconcile_and_score(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "reconcile",
            "--register",
            str(case.register_file),
            "--records",
            str(case.records_file),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "verified" in res.output
    for name in ("links.csv", "links.parquet", "summary.json", "report.html", "model.json"):
        assert (out / name).is_file(), name
    assert not (out / ".work").exists()
    res = runner.invoke(app, ["reconcile", "score", "--truth", str(case.truth_file), str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    # hand-made rows are not in the synthetic truth file; everything else is
    register = list(csv.DictReader(case.register_file.open(encoding="utf-8")))
    assert doc["records_not_in_truth"] == len(records(case.ward)) + len(site_records(register))
    assert doc["link"]["f1"] > 0.99


def test_bad_input_exit_code_and_message(case: Case, tmp_path: Path) -> None:
    missing = tmp_path / "missing.parquet"
    res = runner.invoke(
        app,
        [
            "reconcile",
            "--register",
            str(case.register_file),
            "--records",
            str(missing),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "missing.parquet" in res.output
    res = runner.invoke(app, ["reconcile", "--records", str(case.records_file)])
    assert res.exit_code == 2
    assert "--register" in res.output and "--out" in res.output


def test_incremental_run_from_the_command_line(case: Case, tmp_path: Path) -> None:

    # the same dose of Trần Thị Lan entered a third time, a day later: a double entry of X09
    late = [
        dict(r, record_id="Y" + r["record_id"][1:])
        for r in records(case.ward)
        if r["record_id"] == "X09"
    ]
    late[0]["dose_date"] = "03/08/2021"
    new = _write_records(tmp_path / "new.csv", late)
    out = tmp_path / "inc"
    args = [
        "reconcile",
        "--register",
        str(case.register_file),
        "--records",
        str(new),
        "--out",
        str(out),
    ]
    res = runner.invoke(app, [*args, "--incremental"])
    assert res.exit_code == 2 and "--state" in res.output
    res = runner.invoke(app, [*args, "--incremental", "--state", str(case.out)])
    assert res.exit_code == 0, res.output
    assert "1 new records" in res.output
    links = {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}
    assert (links["Y09"]["action"], links["Y09"]["duplicate_of"]) == ("duplicate", "X09")
    assert len(links) == pq.read_metadata(case.out / "links.parquet").num_rows + 1


def test_incremental_from_a_state_without_the_incomplete_column(case: Case, tmp_path: Path) -> None:
    """A state written before ``incomplete`` existed still works: its identities get NULL
    there (the new records get their lists)."""
    import shutil

    from .conftest import records

    old = tmp_path / "old"
    shutil.copytree(case.out, old)
    idents = pq.read_table(old / "state_identities.parquet")
    pq.write_table(idents.drop(["incomplete"]), old / "state_identities.parquet")
    late = [
        dict(r, record_id="Z" + r["record_id"][1:], dose_number="7", dose_date="01/05/2023")
        for r in records(case.ward)
        if r["record_id"] == "X15"
    ]
    new = _write_records(tmp_path / "new.csv", late)
    out = tmp_path / "inc"
    args = ["--register", str(case.register_file), "--records", str(new), "--out", str(out)]
    res = runner.invoke(app, ["reconcile", *args, "--incremental", "--state", str(old)])
    assert res.exit_code == 0, res.output
    links = {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}
    assert (links["Z15"]["action"], links["Z15"]["incomplete"]) == ("verified", "dob")
    assert links["X15"]["incomplete"] is None and links["X15"]["action"] == "verified"


def test_apply_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    res = runner.invoke(app, ["reconcile", "apply", str(tmp_path)])
    assert res.exit_code == 2
    assert "links.parquet" in res.output


def test_register_update_from_the_command_line(case: Case, tmp_path: Path) -> None:
    import pyarrow as pa

    args = ["reconcile", "--register", str(case.register_file), "--out", str(tmp_path / "u")]
    res = runner.invoke(app, [*args, "--records", str(case.records_file), "--register-update"])
    assert res.exit_code == 2 and "--state" in res.output
    # the case's records include one without a record_id (#row-N): refused, with the reason
    res = runner.invoke(
        app,
        [*args, "--records", str(case.records_file), "--register-update", "--state", str(case.out)],
    )
    assert res.exit_code == 2 and "record_id" in res.output, res.output
    # a run over records that all have ids, then a snapshot without its first person
    recs = pq.read_table(case.records_file)
    ids = recs.column("record_id")
    with_ids = recs.filter(pa.compute.invert(pa.compute.is_null(ids)))
    pq.write_table(with_ids, tmp_path / "recs.parquet")
    first = tmp_path / "first"
    reg = [
        "--register",
        str(case.register_file),
        "--records",
        str(tmp_path / "recs.parquet"),
    ]
    assert runner.invoke(app, ["reconcile", *reg, "--out", str(first)]).exit_code == 0
    lines = case.register_file.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "new_reg.csv").write_text("".join([lines[0], *lines[2:]]), encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "reconcile",
            "--register",
            str(tmp_path / "new_reg.csv"),
            "--records",
            str(tmp_path / "recs.parquet"),
            "--register-update",
            "--state",
            str(first),
            "--out",
            str(tmp_path / "u2"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "0 added, 1 removed, 0 changed" in res.output
    assert pq.read_metadata(tmp_path / "u2" / "links.parquet").num_rows == with_ids.num_rows


def test_incremental_run_names_a_new_linked_entry_on_an_earlier_review(
    case: Case, tmp_path: Path
) -> None:
    """X26 (Võ Văn An without ID, dose 1 on 20/08/2021: review, T06 or his twin T07) is in
    the earlier state; Y26, T06 with his ID and the same dose a day later, comes in an
    increment: X26 stays in review and names Y26 as the entry it doubles if T06 is right."""

    late = [
        dict(r, record_id="Y26", national_id="099200000011", dose_date="21/08/2021")
        for r in records(case.ward)
        if r["record_id"] == "X26"
    ]
    new = _write_records(tmp_path / "new.csv", late)
    out = tmp_path / "inc"
    args = ["--register", str(case.register_file), "--records", str(new), "--out", str(out)]
    res = runner.invoke(app, ["reconcile", *args, "--incremental", "--state", str(case.out)])
    assert res.exit_code == 0, res.output
    links = {r["record_id"]: r for r in pq.read_table(out / "links.parquet").to_pylist()}
    assert (links["Y26"]["person_id"], links["Y26"]["action"]) == ("T06", "verified")
    assert (links["X26"]["action"], links["X26"]["duplicate_of"]) == ("review", "Y26")
    assert links["X26"]["explanation"].startswith("possible double entry of Y26; ")
    # the batch run's own pairs are unchanged
    assert (links["X24"]["action"], links["X24"]["duplicate_of"]) == ("duplicate", "X06")
    assert links["X06"]["duplicate_of"] == "X25"
