"""`tiemchung backlog import FILE…`: a site's old spreadsheets into the store (issue 17 point 3).

The command parses, calls ``registry/imports/legacy.import_legacy_files`` (the service the API's
upload calls too) and prints what became of every row: stored, already stored, or refused into
the rejects file with its file, sheet, row and reason. It prints the column mapping it guessed
from each sheet's headers (to save and edit as ``--map``) and the vaccine names no product
answers, with their counts (to add as synonyms, then import again)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tiemchung.cli.common import console, fail

backlog_app = typer.Typer(
    help="Old dose records / Hồ sơ tiêm cũ: import a site's spreadsheets", no_args_is_help=True
)


@backlog_app.command("import")
def backlog_import(
    files: Annotated[
        list[Path], typer.Argument(help="CSV, XLSX or Parquet files / tệp CSV, XLSX, Parquet")
    ],
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            help="TOML: \\[columns] header = column, \\[vaccines] name = code / tệp ánh xạ cột",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(help="site of rows with none / mã điểm tiêm cho dòng không ghi điểm tiêm"),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="name of the source, prefixes its record ids / tên nguồn dữ liệu"),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="where refused rows go / nơi ghi các dòng bị từ chối"),
    ] = None,
) -> None:
    """Import old dose records; every row is stored or kept with its reason / Nhập hồ sơ tiêm
    cũ; mỗi dòng được lưu hoặc ghi lại kèm lý do."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.legacy import (
        LegacyFileError,
        count_rows,
        import_legacy_files,
        load_mapping,
    )
    from tiemchung.registry.scope import Actor

    try:
        mapping = load_mapping(map_file) if map_file is not None else None
        total = count_rows(files)
        rejects_path = rejects or files[0].with_name(files[0].name + ".rejects.csv")
        with (
            Platform() as platform,
            platform.sessions() as s,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,} rows / dòng"),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            task = bar.add_task("import / nhập", total=total)
            done = import_legacy_files(
                s,
                Actor.system("cli"),
                files,
                mapping=mapping,
                site=site,
                source=source,
                rejects_path=rejects_path,
                progress=lambda n: bar.advance(task, n),
            )
    except LegacyFileError as exc:
        fail(str(exc), 2)
    report = done.report
    for file, sheet, toml in done.guesses:
        where = f"{file}" + (f" [{sheet}]" if sheet else "")
        console.print(f"columns found in / cột nhận ra trong {where} (save as --map):")
        typer.echo(toml)
    for file, sheet in done.headless:
        console.print(
            f"[yellow]![/yellow] {file} [{sheet}]: no header row / không thấy dòng tiêu đề"
        )
    if report.unknown_vaccines:
        console.print("[yellow]![/yellow] unknown vaccine names / tên vắc xin không nhận ra:")
        for name, n in sorted(report.unknown_vaccines.items(), key=lambda kv: -kv[1]):
            console.print(f"    {name!r}: {n:,} rows / dòng")
    console.print(
        f"[green]✓[/green] read / đã đọc {report.rows_read:,} = stored / đã lưu "
        f"{report.rows_imported:,} + already stored / đã có {report.rows_skipped:,} + "
        f"rejected / bị từ chối {report.rows_rejected:,}"
    )
    if report.rows_rejected:
        console.print(
            f"    reasons / lý do: {report.reasons}; kept in / lưu tại {report.rejects_file}"
        )
