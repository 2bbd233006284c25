"""`tiemchung reconcile`: link dose records to the register (a full, an incremental or a
register-update run), `reconcile apply OUT` into the registry and `reconcile score`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tiemchung.cli.common import console, fail

reconcile_app = typer.Typer(
    help="Link dose records to the register / Đối soát mũi tiêm với sổ dân cư",
    invoke_without_command=True,
)

_LABELS = (
    ("links", "dòng links / links rows"),
    ("verified", "xác minh / verified"),
    ("corrected", "đã sửa / corrected"),
    ("corrections", "trường đã sửa / fields corrected"),
    ("completed", "đã bổ sung / completed (incomplete fields)"),
    ("completions", "trường đã bổ sung / fields completed"),
    ("duplicates", "mũi trùng / duplicates"),
    ("review_items", "cần xem xét / to review"),
    ("not_found_items", "không tìm thấy / not found"),
    ("unlinked", "bỏ liên kết cũ / unlinked"),
    ("superseded", "mục cũ thay thế / items superseded"),
    ("kept_person_decision", "giữ quyết định của người / person decisions kept"),
    ("kept_open_item", "giữ phiếu phản ánh / open tickets kept"),
    ("already_done", "đã áp dụng trước / already written"),
    ("records_not_in_registry", "bản ghi không có trong CSDL / records not stored"),
    ("persons_not_in_registry", "người không có trong sổ / persons not in register"),
    ("rows_rejected", "dòng lỗi / unreadable rows"),
    ("doses_not_in_links", "mũi không có trong lần chạy / doses not in run"),
)


def run_staged(label: str, prefix: str, run: Callable[..., dict[str, Any]], **kwargs: Any) -> Any:
    """Run a staged reconciliation call under a progress bar; input and model errors end the
    command with their message (exit 2) rather than a traceback."""
    from tiemchung.reconcile import ModelError, ReconcileInputError
    from tiemchung.reconcile.errors import SparkSetupError

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} stages"),
        console=console,
    ) as bar:
        task = bar.add_task(label, total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{prefix}: {stage}", completed=done, total=total)

        try:
            return run(progress=progress, **kwargs)
        except (ReconcileInputError, ModelError, SparkSetupError) as exc:
            console.print(f"[red]✗[/red] {exc}")
            raise typer.Exit(2) from None


def apply_command(
    out: Annotated[Path, typer.Argument(help="output folder of a reconcile run")],
    rejects: Annotated[
        Path | None, typer.Option(help="where unmatched rows go (default OUT/apply.rejects.csv)")
    ] = None,
) -> None:
    """Apply a run to the registry: links, automatic corrections, duplicates, worklists."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.apply import ApplyError, apply_run, run_identity
    from tiemchung.registry.scope import Actor

    try:
        run_identity(out)  # a wrong folder fails before the database is opened
    except ApplyError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        with (
            Platform() as platform,
            platform.sessions() as s,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                # the total is unknown until the first chunk: "{task.total:,}" broke on None
                MofNCompleteColumn(),
                TextColumn("links"),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            task = bar.add_task(f"apply {out.name}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = apply_run(s, Actor.system("cli"), out, progress=progress, rejects_path=rejects)
    except ApplyError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None
    if report.already_applied:
        console.print(
            f"[yellow]=[/yellow] lần chạy {report.run_id} đã được áp dụng, không thay đổi gì / "
            "run already applied: nothing changed"
        )
        return
    table = Table(title=f"run {report.run_id} ({report.seconds:.1f} s)")
    table.add_column("")
    table.add_column("", justify="right")
    for key, label in _LABELS:
        table.add_row(label, f"{getattr(report, key):,}")
    Console().print(table)
    if report.rejects_file:
        console.print(f"[yellow]![/yellow] {report.reasons} — {report.rejects_file}")


def run_incremental(
    records: Path,
    register: Path,
    out: Path,
    state: Path,
    *,
    map_file: Path | None = None,
    threads: int | None = None,
    memory: str | None = None,
) -> None:
    """`tiemchung reconcile --incremental --state PREVIOUS_OUT ...`."""
    from tiemchung.reconcile.incremental import link_new

    summary = run_staged(
        "reconcile --incremental",
        "incremental",
        link_new,
        state=state,
        records=records,
        register=register,
        out=out,
        mapping=map_file,
        threads=threads,
        memory=memory,
    )
    o = summary["overall"]
    inc = summary["incremental"]
    console.print(
        f"[green]✓[/green] {inc['new_records']:,} new records scored, "
        f"{inc['previous_records']:,} kept from {state}; {inc['changed_previous']:,} earlier "
        f"links changed. All {o['records']:,}: {o['verified']:,} verified, {o['corrected']:,} "
        f"corrected, {o['duplicate']:,} duplicates, {o['review']:,} to review, "
        f"{o['not_found']:,} not found — {out}/links.parquet"
    )


def run_register_update(
    records: Path | None,
    register: Path | None,
    out: Path | None,
    state: Path | None,
    map_file: Path | None = None,
    threads: int | None = None,
    memory: str | None = None,
) -> None:
    """`tiemchung reconcile --register-update --register NEW --records R --state PREV --out OUT`:
    the records of PREV re-checked against a new register snapshot, scoring only those a
    changed person can affect."""
    from tiemchung.reconcile.incremental import recheck_register

    if state is None:
        console.print(
            "[red]✗[/red] --register-update cần --state / needs --state PREVIOUS_OUT "
            "(the run whose records are re-checked)"
        )
        raise typer.Exit(2)
    assert records and register and out  # the caller checked
    summary = run_staged(
        "reconcile --register-update",
        "register update",
        recheck_register,
        state=state,
        records=records,
        register=register,
        out=out,
        mapping=map_file,
        threads=threads,
        memory=memory,
    )
    ru, o = summary["register_update"], summary["overall"]
    console.print(
        f"[green]✓[/green] sổ dân cư mới / new register: {ru['persons_added']:,} added, "
        f"{ru['persons_removed']:,} removed, {ru['persons_changed']:,} changed; "
        f"{ru['records_rechecked']:,} of {o['records']:,} records re-checked, "
        f"{ru['changed_links']:,} links changed — {out}/links.parquet"
    )


def _from_store(out: Path) -> tuple[Path, Path, Path]:
    """Write the store's backlog doses and register under ``out/inputs`` (the same service
    any caller uses: ``registry/imports/from_store.py``); a store with none to link fails."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.from_store import export_for_reconcile

    with Platform() as platform, platform.sessions() as s:
        made = export_for_reconcile(s, out)
    if not made.record_rows or not made.register_rows:
        fail(
            f"the store holds {made.record_rows:,} backlog doses and {made.register_rows:,} "
            "register persons: nothing to link (tiemchung backlog import, register import) / "
            "kho chưa có hồ sơ tiêm cũ hoặc sổ dân cư để đối chiếu",
            2,
        )
    console.print(
        f"[green]✓[/green] from the store / từ kho: {made.record_rows:,} doses, "
        f"{made.register_rows:,} persons → {made.records.parent}"
    )
    return made.register, made.records, out


def reconcile(
    ctx: typer.Context,
    register: Annotated[
        str | None,
        typer.Option(help="register snapshot (CSV/Parquet/XLSX; a path or file:///...)"),
    ] = None,
    records: Annotated[
        str | None, typer.Option(help="dose records (CSV/Parquet/XLSX; a path or file:///...)")
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="output folder (a path or file:///...)")
    ] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="TOML \\[columns] mapping")] = None,
    engine: Annotated[str, typer.Option(help="duckdb|spark")] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark master (spark://host:7077, yarn, k8s://..., local[4]); default: the "
            "active session, spark-submit's, else local / máy chủ Spark, mặc định: phiên "
            "đang chạy, của spark-submit, hoặc cục bộ",
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            "--spark-conf",
            help="a Spark setting key=value, repeatable (e.g. spark.executor.memory=4g) / "
            "một thiết lập Spark khoá=giá trị, lặp lại được",
        ),
    ] = None,
    model: Annotated[Path | None, typer.Option(help="reuse a trained model.json")] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="threads (default: every usable core, fewer if memory is short)"),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            help="engine memory cap, e.g. 4GB (default: sized from the inputs and the free "
            "memory, see summary.json pipeline.resources)"
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="resume an interrupted run from its last stage")
    ] = False,
    keep_work: Annotated[bool, typer.Option(help="keep OUT/.work after success")] = False,
    incremental: Annotated[
        bool, typer.Option(help="link only --records (new) against --state's run and model")
    ] = False,
    state: Annotated[Path | None, typer.Option(help="previous run's OUT (--incremental)")] = None,
    register_update: Annotated[
        bool, typer.Option(help="--register is a new snapshot: re-check --state's --records")
    ] = False,
    from_store: Annotated[
        Path | None,
        typer.Option(
            "--from-store",
            help="link the store's backlog doses against its register, output to this folder "
            "/ đối chiếu hồ sơ tiêm đã nhập với sổ dân cư trong kho dữ liệu",
        ),
    ] = None,
) -> None:
    """Link every dose record to a register person; say what is wrong and what to do."""
    if ctx.invoked_subcommand is not None:
        return
    if (spark_master or spark_conf) and engine != "spark":
        fail("--spark-master / --spark-conf cần / need --engine spark", 2)
    if from_store is not None:
        if register or records or out:
            fail("--from-store takes no --register, --records or --out", 2)
        register, records, out = (str(p) for p in _from_store(from_store))
    missing = [
        n
        for n, v in (("--register", register), ("--records", records), ("--out", out))
        if v is None
    ]
    if missing:
        fail(f"missing {', '.join(missing)}; see tiemchung reconcile --help", 2)
    if engine not in ("duckdb", "spark"):
        fail(f"--engine must be duckdb or spark, not '{engine}'", 2)
    if engine == "spark":
        from rich.markup import escape

        from tiemchung.reconcile.engines import MissingExtraError, require_spark

        try:
            require_spark()
        except MissingExtraError as exc:
            fail(escape(str(exc)), 2)  # escaped: rich would take [spark] for markup
    assert register is not None and records is not None and out is not None  # checked above
    from tiemchung.reconcile.errors import ReconcileInputError, SparkSetupError
    from tiemchung.reconcile.locations import local_path

    try:
        reg_path = local_path(register, "--register", engine)
        rec_path = local_path(records, "--records", engine)
        out_path = local_path(out, "--out", engine)
    except ReconcileInputError as exc:
        fail(str(exc), 2)
    if register_update:
        return run_register_update(rec_path, reg_path, out_path, state, map_file, threads, memory)
    if incremental or state is not None:
        if not (incremental and state is not None):
            fail("--incremental needs --state PREVIOUS_OUT (and the reverse)", 2)
        return run_incremental(
            rec_path, reg_path, out_path, state, map_file=map_file, threads=threads, memory=memory
        )
    from tiemchung.reconcile import Options, run
    from tiemchung.reconcile.engines.spark_session import SparkSettings, parse_conf

    try:
        spark = SparkSettings(spark_master, parse_conf(spark_conf or []))
    except SparkSetupError as exc:
        fail(str(exc), 2)
    opts = Options(
        rec_path,
        reg_path,
        out_path,
        map_file,
        engine,
        model,
        threads,
        memory,
        resume=resume,
        keep_work=keep_work,
        spark=spark,
    )
    summary = run_staged("reconcile", "reconcile", run.reconcile, opts=opts)
    o = summary["overall"]
    console.print(
        f"[green]✓[/green] {o['records']:,} records: {o['verified']:,} verified "
        f"({o['verified_incomplete']:,} of them incomplete), "
        f"{o['corrected']:,} corrected, {o['duplicate']:,} duplicates, {o['review']:,} to "
        f"review, {o['not_found']:,} not found — {out_path}/links.csv, report.html"
    )


def reconcile_score(
    out: Annotated[Path, typer.Argument(help="output folder of a reconcile run")],
    truth: Annotated[Path, typer.Option(help="truth file (record_id, person_id, ...)")],
) -> None:
    """Score a run against a truth file: link F1, automatic-action precision, review share."""
    import json

    from tiemchung.reconcile import ReconcileInputError, score

    try:
        result = score(truth, out)
    except ReconcileInputError as exc:
        fail(str(exc), 2)
    typer.echo(json.dumps(result, indent=2))


def spark_env_command(
    archive: Annotated[
        Path,
        typer.Argument(help="the archive to write (.tar.gz) / tệp nén cần ghi (.tar.gz)"),
    ],
) -> None:
    """Pack this environment for Spark's executors (--archives) / Đóng gói môi trường Python
    cho các executor của Spark."""
    from tiemchung.reconcile.errors import SparkSetupError
    from tiemchung.reconcile.spark_env import pack_environment

    try:
        packed = pack_environment(archive)
    except SparkSetupError as exc:
        fail(str(exc), 2)
    console.print(
        f"[green]✓[/green] {packed.files:,} files → {archive}. Các executor cần Python "
        f"{packed.python_version} tại / the executors need Python {packed.python_version} "
        f"at {packed.interpreter}. Submit with / chạy với:\n{packed.spark_submit_line()}"
    )


reconcile_app.callback()(reconcile)
reconcile_app.command("spark-env")(spark_env_command)
reconcile_app.command("apply")(apply_command)
reconcile_app.command("score")(reconcile_score)
