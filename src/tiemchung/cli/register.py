"""`tiemchung register import FILE`: a population register snapshot into the registry."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tiemchung.cli.common import console, fail

register_app = typer.Typer(help="Population register / Sổ dân cư", no_args_is_help=True)


def _read_mapping(path: Path | None) -> dict[str, str] | None:
    """The ``--map`` option: a TOML ``[columns]`` table (or a bare table) of pairs."""
    if path is None:
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        fail(f"{path}: cannot read the mapping ({exc})", 2)
    columns = data.get("columns", data)
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        fail(f'{path}: expected a [columns] table of canonical = "file column" pairs', 2)
    return dict(columns)


def _count_rows(file: Path) -> int | None:
    """Rows in the file, for the progress bar's total; ``None`` when it cannot tell cheaply."""
    if file.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(file).metadata.num_rows)
    if file.suffix.lower() in (".csv", ".txt") and file.exists():
        with file.open("rb") as fh:
            return max(sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    return None


@register_app.command("import")
def register_import(
    file: Path,
    map_file: Annotated[Path | None, typer.Option("--map", help="TOML [columns] mapping")] = None,
    rejects: Annotated[Path | None, typer.Option(help="where rejected rows go")] = None,
) -> None:
    """Import a register snapshot (CSV or Parquet); rejected rows are kept with reasons."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.register import ImportFileError, import_register
    from tiemchung.registry.scope import Actor

    mapping = _read_mapping(map_file)
    if not file.is_file():
        fail(f"{file}: no such file (không tìm thấy tệp)", 2)
    total = _count_rows(file)
    counter = "{task.completed:,}/{task.total:,} rows" if total else "{task.completed:,} rows"
    try:
        with (
            Platform() as platform,
            platform.sessions() as s,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn(counter),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            task = bar.add_task(f"import {file.name}", total=total)
            report = import_register(
                s,
                Actor.system("cli"),
                file,
                mapping=mapping,
                rejects_path=rejects,
                progress=lambda n: bar.advance(task, n),
            )
    except ImportFileError as exc:
        fail(str(exc), 2)
    console.print(
        f"[green]✓[/green] {report.rows_imported:,} persons imported of "
        f"{report.rows_read:,} rows read"
    )
    if report.rows_rejected:
        console.print(
            f"[yellow]![/yellow] {report.rows_rejected:,} rows rejected "
            f"({report.reasons}); kept in {report.rejects_file}"
        )
