"""The evaluation against the generator's truth, on links made up from that truth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from bench.gen2.evaluate import evaluate

from tests.bench_gen2.conftest import GeneratedSet


def _links(gen: GeneratedSet, out: Path, spoil: int) -> dict[str, str]:
    """Perfect links, except ``spoil`` registered records sent to ``not_found``; every wrong
    or incomplete field of the five reported as a mismatch (what reconcile does today)."""
    rows: list[dict[str, str]] = []
    spoilt: dict[str, str] = {}
    # the first few spoilt records each have another field off, so the breakdown of wrong
    # not_found by agreeing fields has more than one bucket to count
    wanted = [
        ("full_name", "wrong"),
        ("dob", "wrong"),
        ("dob", "incomplete"),
        ("ward_code", "wrong"),
        ("ward_code", "incomplete"),
    ]
    chosen: set[str] = set()
    for field, status in wanted:
        chosen |= {
            next(
                t["record_id"]
                for t in gen.truth
                if t["person_id"]
                and not t["duplicate_of"]
                and t[f"{field}_status"] == status
                and t["record_id"] not in chosen
            )
        }
    for t in gen.truth:
        if len(chosen) < spoil and t["person_id"] and not t["duplicate_of"]:
            chosen.add(t["record_id"])
    for t in gen.truth:
        person, action = t["person_id"], "verified" if t["person_id"] else "not_found"
        if t["record_id"] in chosen:
            spoilt[t["record_id"]] = person
            person, action = None, "not_found"
        flagged = ";".join(
            f
            for f in ("national_id", "full_name", "dob", "sex", "ward_code")
            if t[f"{f}_status"] != "correct"
        )
        rows.append(
            {
                "record_id": t["record_id"],
                "person_id": person or "",
                "action": action,
                "mismatches": flagged,
            }
        )
    out.mkdir()
    table = pa.table({k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]})
    pacsv.write_csv(table, out / "links.csv")
    return spoilt


def test_evaluate_counts_what_was_done(gen: GeneratedSet, tmp_path: Path) -> None:
    spoilt = _links(gen, tmp_path / "run", spoil=7)
    data = Path(gen.manifest["files"]["truth"]).parent
    res = evaluate(data, tmp_path / "run")
    registered = sum(1 for t in gen.truth if t["person_id"])
    outside = len(gen.truth) - registered
    assert res["link"]["fp"] == 0 and res["link"]["fn"] == 7
    assert res["link"]["tp"] == registered - 7
    nf = res["not_found"]
    assert (nf["records"], nf["in_register"], nf["precision"]) == (
        outside + 7,
        7,
        round(outside / (outside + 7), 6),
    )
    # the 7 wrong not_found, by which of name / DOB / place agree with the true person,
    # re-derived here from the truth's statuses (place: the ward, else the address)
    truth = {t["record_id"]: t for t in gen.truth}

    def place(t: dict[str, str]) -> bool:
        if t["ward_code_status"] != "correct" and t["ward_code_status"] != "incomplete":
            return False
        return t["ward_code_status"] == "correct" or t["address_status"] == "correct"

    agreeing = Counter(
        sum(
            (
                truth[r]["full_name_status"] == "correct",
                truth[r]["dob_status"] == "correct",
                place(truth[r]),
            )
        )
        for r in spoilt
    )
    assert nf["in_register_by_agreeing_fields"] == {f"{k}_of_3": c for k, c in agreeing.items()}
    assert len(agreeing) > 1  # more than one bucket was exercised
    assert sum(p["records"] for p in nf["in_register_by_pattern"]) == 7
    # the people the register lacks: never linked here, all not_found
    kinds = Counter(t["kind"] for t in gen.truth if not t["person_id"])
    assert res["not_in_register"] == {
        k: {"records": c, "linked_to_someone": 0, "not_found": c, "review": 0}
        for k, c in kinds.items()
    }
    dob = res["mismatch_by_field"]["dob"]
    incomplete = sum(
        1
        for t in gen.truth
        if t["person_id"] and t["dob_status"] == "incomplete" and t["record_id"] not in spoilt
    )
    assert dob["fn"] == 0 and dob["fp"] == dob["incomplete_flagged"] == incomplete > 0
    swaps = res["link_recall_by_process"]["dob.day_month_swap"]
    assert swaps["records"] > 0 and 0.9 <= swaps["recall"] <= 1.0


def test_evaluate_scores_the_incomplete_column(gen: GeneratedSet, tmp_path: Path) -> None:
    """Links that report every incomplete field in ``incomplete`` and also call the WRONG
    dates incomplete: recall 1, and exactly those wrong dates as false positives."""
    five = ("national_id", "full_name", "dob", "sex", "ward_code")
    rows = []
    for t in gen.truth:
        person = t["person_id"] or ""
        said = [f for f in five if t[f"{f}_status"] == "incomplete"
                or (f == "dob" and t["dob_status"] == "wrong")]
        rows.append({"record_id": t["record_id"], "person_id": person,
                     "action": "verified" if person else "not_found",
                     "mismatches": ";".join(f for f in five if t[f"{f}_status"] == "wrong"),
                     "incomplete": ";".join(said)})
    (tmp_path / "run").mkdir()
    table = pa.table({k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]})
    pacsv.write_csv(table, tmp_path / "run" / "links.csv")
    data = Path(gen.manifest["files"]["truth"]).parent
    res = evaluate(data, tmp_path / "run")
    inc = res["incomplete_by_field"]
    registered = [t for t in gen.truth if t["person_id"]]
    for f in five:
        n = sum(1 for t in registered if t[f"{f}_status"] == "incomplete")
        assert (inc[f]["tp"], inc[f]["fn"]) == (n, 0), f
    wrong_dob = sum(1 for t in registered if t["dob_status"] == "wrong")
    assert inc["dob"]["fp"] == inc["dob"]["wrong_said"] == wrong_dob > 0
    assert inc["national_id"]["fp"] == 0 and inc["national_id"]["f1"] == 1.0
    # the mismatches name only the wrong fields here: a perfect score, incomplete apart
    assert all(m["f1"] == 1.0 and m["incomplete_flagged"] == 0
               for m in res["mismatch_by_field"].values())


def test_evaluate_without_an_incomplete_column_leaves_it_out(
    gen: GeneratedSet, tmp_path: Path
) -> None:
    _links(gen, tmp_path / "run", spoil=0)
    data = Path(gen.manifest["files"]["truth"]).parent
    assert "incomplete_by_field" not in evaluate(data, tmp_path / "run")
