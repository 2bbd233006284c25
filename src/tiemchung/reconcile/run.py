"""The reconciliation run: stages in order, each materialising its tables through an engine,
with progress and resume.

Every problem with the inputs is found by :func:`prepare` before the engine starts. After each
stage the engine makes its tables durable and ``OUT/.work/state.json`` records the stage as
done; ``resume=True`` skips the stages a crashed or interrupted run had finished, provided the
inputs, the mapping, the engine and the model are the same (their fingerprint is checked).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import decide, entries, outputs, places
from .blocking import CORE_RULES, LAST_RULES
from .context import Context, Options
from .dialects import DUCKDB
from .engines import make_engine
from .engines.resources import input_rows
from .errors import ModelError, ReconcileInputError
from .inputs import InputSpec, check_shared_mapping, inspect_input, read_mapping
from .model import Model, choose_auto_threshold, choose_plausible_threshold, estimate_pi
from .standardise import KINDS
from .steps import RAW_IDENTITY, REG_STD_COLS, Plan
from .train import train

Progress = Callable[[str, int, int], None]
#: the standardised register of a run (``OUT/register_std.parquet``)
REGISTER_STD = "register_std.parquet"
#: a run's state, what an incremental run starts from: its records, its identities
#: (entries.STATE_RECORDS_SQL, entries.STATE_IDENTITIES_SQL)
STATE_RECORDS = "state.parquet"
STATE_IDENTITIES = "state_identities.parquet"
#: inputs above this size make the DuckDB engine keep its tables on disk (resumable)
DURABLE_BYTES = 2 << 30


# --- stages ----------------------------------------------------------------------------------
REC_LOAD = ("record_id", *RAW_IDENTITY, "dose_number", "dose_date", "site_id")


def stage_load(ctx: Context) -> None:
    plan = ctx.plan
    ctx.engine.load_input("rec_in", plan.rec, [c for c in REC_LOAD if plan.rec.has(c)])
    ctx.engine.load_input("reg_in", plan.reg, list(plan.reg.columns))
    _check_register_keys(ctx)
    ctx.engine.run("raw", plan.raw_sql())
    # the dose fields have few distinct values: standardised here, so that every record's
    # identity and dose (rec_iid) are found in one pass and rec_in can go
    ctx.engine.standardise_all(
        {name: (src, *KINDS[kind]) for name, (kind, src) in plan.dose_sources().items()}
    )
    ctx.engine.run("rec_iid", plan.rec_iid_sql())


def _check_register_keys(ctx: Context) -> None:
    """Every register person has one ``person_id`` of their own: a person listed twice would
    give their records two links rows each, and a row without an id could never be linked
    to, so either is refused (with the rows to look at) before the work starts."""
    eng, reg = ctx.engine, ctx.plan.reg
    row = eng.fetch(
        "SELECT sum(CASE WHEN person_id IS NULL OR trim(person_id) = '' THEN 1 ELSE 0 END) "
        "AS missing, min(CASE WHEN person_id IS NULL OR trim(person_id) = '' THEN _row END) "
        "AS first_missing, count(person_id) - count(DISTINCT person_id) AS repeated "
        "FROM reg_in"
    ).to_pylist()[0]
    column = reg.columns.get("person_id")
    if row["missing"]:
        raise ReconcileInputError(
            f"{reg.path}: {row['missing']} dòng không có person_id / rows without a person_id "
            f"(column {column!r}; the first is data row {row['first_missing']}): every "
            "register person needs an id"
        )
    if row["repeated"]:
        first = eng.fetch(
            "SELECT person_id, min(_row) AS a, max(_row) AS b FROM reg_in GROUP BY person_id "
            "HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1"
        ).to_pylist()[0]
        raise ReconcileInputError(
            f"{reg.path}: {row['repeated']} dòng lặp lại person_id / rows repeat a person_id "
            f"(column {column!r}; e.g. {first['person_id']!r} on data rows {first['a']} and "
            f"{first['b']}): a register lists each person once"
        )


def stage_standardise(ctx: Context) -> None:
    sources = ctx.plan.value_sources()
    # in KINDS' order, the costliest first: an engine running them side by side starts the
    # long Python-bound names while the rest share the other core
    ctx.engine.standardise_all(
        {f"v_{kind}": (sources[kind], *KINDS[kind]) for kind in KINDS if kind in sources}
    )
    ctx.engine.run("reg", ctx.plan.reg_sql())
    ctx.engine.run("name_tf", ctx.plan.name_tf_sql(_pinned_size(ctx)))
    if "r_addr_tf" in ctx.plan.tf_columns:
        ctx.engine.run("addr_tf", ctx.plan.addr_tf_sql(_pinned_size(ctx)))
    if ctx.plan.infers_place:
        # the register's own gazetteer: the ward an address typed without a ward code names
        ctx.engine.run("gaz", places.gazetteer_sql(ctx.plan.dialect))


def stage_collapse(ctx: Context) -> None:
    # the typed identities were collapsed on load (``raw``); here they get their
    # standardised values, and every record its identity (``ident0`` until the exact pass
    # has said whose addresses are needed: Plan.staged_address)
    name = "ident0" if ctx.plan.staged_address else "ident"
    ctx.engine.run(name, ctx.plan.ident_sql())
    ctx.facts["identities"] = ctx.engine.count(name)
    _n_register(ctx)


def stage_exact(ctx: Context) -> None:
    plan, eng = ctx.plan, ctx.engine
    if plan.staged_address:
        eng.run("exact", plan.exact_sql("ident0"))
        # an address typed as the register writes it (six in ten of the rest's, 1M synth)
        # was standardised with the register's (``v_addr``): only the others are done here
        known = "v_addr" if plan.reg.has("address") else None
        new = "v_raddr_new" if known else "v_raddr"
        eng.standardise(new, plan.raddr_source_sql(known), *KINDS["addr"])
        if known:
            eng.view("v_raddr", f"SELECT * FROM {new} UNION ALL SELECT * FROM {known}")
        if plan.infers_place:
            eng.run("addr_place", places.address_place_sql(plan.dialect))
            ctx.facts["addresses_placed"] = eng.count("addr_place")
        eng.run("raddr", plan.raddr_sql())
        eng.view("ident", plan.ident_address_sql())
    else:
        eng.run("exact", plan.exact_sql())
    if plan.places_by_site:
        eng.run("rec_site", places.rec_site_sql())
        eng.run("site_place", plan.site_place_sql())
        ctx.facts["sites_placed"] = eng.count("site_place")
    eng.run("resid", plan.with_owner_sql(plan.resid_sql()))
    ctx.facts["exact_pass_identities"] = ctx.engine.count("exact")
    ctx.facts["residual_identities"] = ctx.engine.count("resid")


def stage_train(ctx: Context) -> None:
    if ctx.given_model:
        return
    ctx.model = train(ctx.engine, ctx.plan, _n_register(ctx))
    (ctx.work / "model.json").write_text(ctx.model.to_json(), encoding="utf-8")


def stage_predict(ctx: Context) -> None:
    assert ctx.model is not None
    plan, eng = ctx.plan, ctx.engine
    rules = plan.blocking_rules(_n_register(ctx))
    ctx.facts["blocking_rules"] = rules
    core = {k: v for k, v in rules.items() if k in CORE_RULES}
    extra = {k: v for k, v in rules.items() if k not in CORE_RULES and k not in LAST_RULES}
    last = {k: v for k, v in rules.items() if k in LAST_RULES}
    if core and extra:
        # the rules for records with two or more fields wrong run only for the identities
        # whose best candidate from the first rules is not already near-certain (posterior
        # about 0.999 with the prior pi = 0.9): most have their person by then, and the
        # second rules' blocks are the big ones (a ward's births on one day and month...)
        eng.run("cand0", plan.candidates_sql("resid", core))
        eng.run("scored0", plan.gamma_sql("cand0", "resid"))
        sure = 10.0 - (np.log2(0.9) - np.log2(max(_n_register(ctx), 1)))
        w = decide.total_weight_sql(plan, ctx.model)
        eng.run(
            "resid_x",
            "SELECT * FROM resid WHERE iid NOT IN (SELECT iid FROM scored0 "
            f"WHERE {w} >= {float(sure)!r})",
        )
        # the last rules (broad keys, blocking.LAST_RULES) for the identities of these whose
        # first rules' candidates are none plausible either (decide.plausible_sql)
        pl = decide.plausible_sql(plan, b="s.")
        eng.run(
            "resid_z",
            "SELECT * FROM resid_x WHERE iid NOT IN (SELECT s.iid FROM scored0 s "
            f"JOIN resid_x r ON r.iid = s.iid WHERE {pl})",
        )
        # the second and last rules' new pairs only, scored in one pass (each scoring reads
        # the register): the first rules' pairs are scored already
        second = plan.candidates_sql("resid_x", extra)
        if last:
            second = f"{second} UNION {plan.candidates_sql('resid_z', last)}"
        eng.run("cand_x", f"{second} EXCEPT SELECT iid, person_id FROM cand0")
        eng.run("scored_x", plan.gamma_sql("cand_x", "resid"))
        # read as one by best and runners_up, where the engine can: scored0 is not copied
        eng.view("scored_in", "SELECT * FROM scored0 UNION ALL SELECT * FROM scored_x")
        ctx.facts["identities_second_rules"] = eng.count("resid_x")
        ctx.facts["identities_last_rules"] = eng.count("resid_z")
        ctx.facts["candidate_pairs"] = eng.count("cand0") + eng.count("cand_x")
        for t in ("cand0", "cand_x", "resid_x", "resid_z"):
            eng.drop(t)
    else:
        eng.run("cand", plan.candidates_sql("resid", rules))
        ctx.facts["candidate_pairs"] = eng.count("cand")
        # the exact pass's pairs are scored where they are decided (decide.decided_sql)
        eng.run("scored_in", plan.gamma_sql("cand", "resid"))
    eng.run("best", decide.best_sql(plan, ctx.model))
    eng.run("runners_up", decide.runners_up_sql(plan, ctx.model))


def stage_classify(ctx: Context) -> None:
    assert ctx.model is not None
    n_reg = _n_register(ctx)
    if not ctx.given_model:
        t = ctx.engine.fetch("SELECT b.w, b.z, b.lz, i.n FROM best b JOIN ident i ON i.iid = b.iid")
        n_resid = int(ctx.facts["residual_identities"])
        lz = t.column("lz").to_numpy(zero_copy_only=False)
        # identities of the rest with no candidate at all: nobody, with certainty
        lz_all = np.r_[lz, np.full(max(n_resid - len(lz), 0), -1e9)]
        pi = estimate_pi(lz_all, float(np.log2(n_reg)))
        w = t.column("w").to_numpy(zero_copy_only=False)
        z = t.column("z").to_numpy(zero_copy_only=False)
        a = np.log2(pi) - np.log2(n_reg)
        p = 1.0 / (z + (1 - pi) * np.exp2(-(w + a)))
        n = t.column("n").to_numpy(zero_copy_only=False)
        auto = choose_auto_threshold(p, n)
        p_any = 1.0 / (1.0 + (1 - pi) * np.exp2(-(lz + a)))
        # records of the rest with no candidate at all: certainly nobody
        n_without = float(
            ctx.engine.fetch(
                "SELECT coalesce(sum(n), 0) AS n FROM resid WHERE iid NOT IN (SELECT iid FROM best)"
            ).to_pylist()[0]["n"]
        )
        plausible = choose_plausible_threshold(p_any, n, n_without)
        ctx.model.pi = pi
        ctx.model.thresholds = {"auto": auto, "plausible": plausible}
        ctx.model.training["expected_auto_precision_residual"] = _expected_precision(p, n, auto)
        (ctx.work / "model.json").write_text(ctx.model.to_json(), encoding="utf-8")
    n_prior = _pinned_size(ctx) or n_reg
    ctx.engine.run("decided", decide.decided_sql(ctx.plan, ctx.model, n_prior))
    ctx.engine.run("cand_json", decide.candidates_sql(ctx.plan, ctx.model, n_prior))
    # the standardised register: what a later register snapshot is compared with
    # (`reconcile --register-update`, incremental.recheck_register)
    cols = ", ".join(REG_STD_COLS)
    ctx.engine.export(f"SELECT {cols} FROM reg", ctx.opts.out / REGISTER_STD, "parquet", state=True)


def _expected_precision(p: np.ndarray, n: np.ndarray, t: float) -> float | None:
    sel = p >= t
    if not sel.any():
        return None
    return round(float((p[sel] * n[sel]).sum() / n[sel].sum()), 6)


def stage_records(ctx: Context) -> None:
    eng = ctx.engine
    # what `reconcile --incremental --state OUT` starts from (no record is scored again)
    out = ctx.opts.out
    eng.export(entries.STATE_RECORDS_SQL, out / STATE_RECORDS, "parquet", state=True)
    eng.export(entries.STATE_IDENTITIES_SQL, out / STATE_IDENTITIES, "parquet", state=True)
    eng.run("multi", entries.multi_sql())
    eng.run("conflicts", entries.conflicts_sql())
    eng.run("duplicates", entries.duplicates_sql())
    eng.run("review_twins", entries.review_twins_sql())
    # read by the exports and the summary only: a view where the engine can (the joins are
    # probes into two small tables), so the records' text is not copied once more
    eng.view("links", entries.links_sql())
    ctx.facts["conflicts"] = eng.count("conflicts")


def stage_write(ctx: Context) -> None:
    assert ctx.model is not None
    outputs.write_all(ctx)


STAGES: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("load", stage_load),
    ("standardise", stage_standardise),
    ("collapse", stage_collapse),
    ("exact", stage_exact),
    ("train", stage_train),
    ("predict", stage_predict),
    ("classify", stage_classify),
    ("records", stage_records),
    ("write", stage_write),
)


#: tables no later stage reads, dropped when the stage ends: memory goes to the next stage
#: instead of spilling (national runs hold ~100x these tables)
DROP_AFTER: dict[str, tuple[str, ...]] = {
    "load": ("rec_in", "v_dose_number", "v_dose_date"),
    "standardise": ("reg_in",),
    "collapse": ("raw", *(f"v_{k}" for k in KINDS if k != "addr")),
    "exact": (
        *("v_raddr", "v_raddr_new", "v_addr", "addr_place", "gaz"),
        *("rec_site", "site_place"),
    ),
    "train": ("u_ids", "train_ids"),
    "predict": ("cand", "scored_in", "scored0", "scored_x"),
    "classify": (
        *("best", "runners_up", "ident", "ident0", "raddr", "reg", "name_tf", "addr_tf"),
        *("resid", "exact"),
    ),
    "records": ("multi",),
}


def _pinned_size(ctx: Context) -> int | None:
    """The register size N of the prior (pi/N per person) and of name frequencies when a
    model is given: the model's own (``training.register``), so that a new register snapshot
    moves no score except through the persons that changed — and a re-check of only the
    affected records equals a batch run (``incremental.recheck_register``). ``None`` (this
    register's size) when training, or for a model that does not record it."""
    if not ctx.given_model or ctx.model is None:
        return None
    n = ctx.model.training.get("register")
    return int(n) if n else None


def _n_register(ctx: Context) -> int:
    if "n_register" not in ctx.facts:
        ctx.facts["n_register"] = ctx.engine.count("reg")
    return int(ctx.facts["n_register"])


# --- the run ---------------------------------------------------------------------------------
@dataclass
class Prepared:
    plan_specs: tuple[InputSpec, InputSpec]
    model: Model | None


def prepare(opts: Options) -> Prepared:
    """Every check that can fail on the inputs, before any work."""
    mapping = read_mapping(opts.mapping)
    rec = inspect_input(opts.records, "records", mapping)
    reg = inspect_input(opts.register, "register", mapping)
    check_shared_mapping(mapping, [rec, reg])
    model = Model.load(opts.model) if opts.model else None
    if model is not None:
        model.check(Plan(rec, reg, DUCKDB).comparisons, str(opts.model))
    return Prepared((rec, reg), model)


def _fingerprint(opts: Options) -> str:
    h = hashlib.sha256()
    for p in (opts.records, opts.register, opts.mapping, opts.model):
        if p is not None:
            st = Path(p).stat()
            h.update(f"{Path(p).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(opts.engine.encode())
    return h.hexdigest()


def reconcile(opts: Options, progress: Progress | None = None) -> dict[str, Any]:
    """Run every stage; returns the summary (also in ``OUT/summary.json``)."""
    prepared = prepare(opts)
    rec, reg = prepared.plan_specs
    opts.out.mkdir(parents=True, exist_ok=True)
    work = opts.out / ".work"
    state_path = work / "state.json"
    fingerprint = _fingerprint(opts)
    done: list[str] = []
    if opts.resume and state_path.exists():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state.get("fingerprint") == fingerprint and state.get("durable"):
            done = list(state.get("done", []))
    if not done and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    durable = opts.durable
    if durable is None:
        # Spark keeps every table as Parquet anyway (its work tables), so its runs always
        # resume; on a cluster a lost node is what --resume is for
        big = sum(p.stat().st_size for p in (rec.path, reg.path)) > DURABLE_BYTES
        durable = opts.resume or opts.engine == "spark" or big
    rows = sum(input_rows(p) for p in (rec.path, reg.path))
    engine = make_engine(
        opts.engine,
        work,
        threads=opts.threads,
        memory=opts.memory,
        durable=durable,
        rows=rows,
        spark=opts.spark,
    )
    plan = Plan(rec, reg, engine.dialect)
    model = prepared.model
    if model is None and "train" in done and (work / "model.json").exists():
        model = Model.load(work / "model.json")
    ctx = Context(opts, plan, engine, model, prepared.model is not None)
    if done:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        ctx.timings = state.get("timings", {})
        ctx.facts = state.get("facts", {})
    ctx.facts["resources"] = engine.resources  # this run's, also when it resumes
    refused = False
    try:
        for i, (name, fn) in enumerate(STAGES):
            if progress:
                progress(name, i, len(STAGES))
            if name in done:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            fn(ctx)
            for table in DROP_AFTER.get(name, ()):
                engine.drop(table)
            engine.checkpoint()
            ctx.timings[name] = round(time.perf_counter() - t0, 3)
            # CPU seconds of this process (all engine threads): steadier than wall time on a
            # shared machine (Spark's JVM is not counted)
            ctx.cpu[name] = round(time.process_time() - c0, 3)
            done.append(name)
            state_path.write_text(
                json.dumps(
                    {
                        "fingerprint": fingerprint,
                        "durable": durable,
                        "done": done,
                        "timings": ctx.timings,
                        "facts": ctx.facts,
                    }
                ),
                encoding="utf-8",
            )
        if progress:
            progress("done", len(STAGES), len(STAGES))
        summary = json.loads((opts.out / "summary.json").read_text(encoding="utf-8"))
    except ReconcileInputError:
        refused = True  # found on load (the register's ids): nothing worth resuming
        raise
    finally:
        engine.close()
        if refused:
            shutil.rmtree(work, ignore_errors=True)
    if not opts.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return summary


__all__ = ["ModelError", "Options", "ReconcileInputError", "prepare", "reconcile"]
