"""`tiemchung reconcile apply OUT` and the incremental run: kept out of cli/main.py, which only
registers them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=True)

_LABELS = (
    ("links", "dòng links / links rows"),
    ("verified", "xác minh / verified"),
    ("corrected", "đã sửa / corrected"),
    ("corrections", "trường đã sửa / fields corrected"),
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
        except (ReconcileInputError, ModelError) as exc:
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
    platform = Platform()
    try:
        with (
            platform.sessions() as s,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} links"),
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
    finally:
        platform.close()
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


def incremental(
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


def register_update(
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
