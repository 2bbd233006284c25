"""An interrupted run resumes from its last finished stage and ends as a fresh run would."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tiemchung.reconcile import Options, reconcile, run

from .conftest import Case


def test_resume_after_a_crash(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    opts = Options(case.records_file, case.register_file, out, durable=True)
    original = dict(run.STAGES)

    def crash(ctx: run.Context) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(
        run,
        "STAGES",
        tuple((name, crash if name == "predict" else fn) for name, fn in original.items()),
    )
    with pytest.raises(RuntimeError, match="power cut"):
        reconcile(opts)
    state = json.loads((out / ".work" / "state.json").read_text())
    assert state["done"] == ["load", "standardise", "collapse", "exact", "train"]
    assert not (out / "links.parquet").exists()

    calls: list[str] = []

    def counting(name: str):  # type: ignore[no-untyped-def]
        def stage(ctx: run.Context) -> None:
            calls.append(name)
            original[name](ctx)

        return stage

    monkeypatch.setattr(run, "STAGES", tuple((n, counting(n)) for n in original))
    seen: list[str] = []
    opts.resume = True
    reconcile(opts, progress=lambda stage, i, n: seen.append(stage))
    assert calls == ["predict", "classify", "records", "write"]
    assert seen[0] == "load" and seen[-1] == "done"  # progress still walks every stage
    resumed = pq.read_table(out / "links.parquet").sort_by("record_id").to_pylist()
    fresh = pq.read_table(case.out / "links.parquet").sort_by("record_id").to_pylist()
    assert resumed == fresh


def test_no_resume_across_changed_inputs(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    reconcile(Options(case.records_file, case.register_file, out, durable=True, keep_work=True))
    state = out / ".work" / "state.json"
    doc = json.loads(state.read_text())
    assert doc["done"][-1] == "write"
    doc["fingerprint"] = "another input"  # as if a file had changed since
    state.write_text(json.dumps(doc))
    calls: list[str] = []
    original = dict(run.STAGES)

    def counting(name: str):  # type: ignore[no-untyped-def]
        def stage(ctx: run.Context) -> None:
            calls.append(name)
            original[name](ctx)

        return stage

    monkeypatch.setattr(run, "STAGES", tuple((n, counting(n)) for n in original))
    reconcile(Options(case.records_file, case.register_file, out, resume=True))
    assert calls == list(original)  # everything ran again
    assert json.loads((out / "summary.json").read_text())["records"] == case.summary["records"]
