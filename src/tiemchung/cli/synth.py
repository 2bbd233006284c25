"""`tiemchung synth` (a synthetic population and its records, as files) and `tiemchung demo`
(a synthetic province loaded into a fresh database, then served)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tiemchung.cli.common import console, fail
from tiemchung.cli.serve import serve
from tiemchung.config import get_settings


def synth(
    people: Annotated[int, typer.Option("--people", help="residents to generate")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same files")] = 2021,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("synth-out"),
    fmt: Annotated[str, typer.Option("--format", help="parquet|csv|xlsx")] = "parquet",
    profile: Annotated[
        Path | None, typer.Option(help="TOML file overriding rates of the default profile")
    ] = None,
    legacy: Annotated[
        bool, typer.Option("--legacy", help="also write per-site legacy .xlsx files")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="processes (default: up to 2); output is the same")
    ] = None,
) -> None:
    """Generate a synthetic population, its vaccination records and the truth about them."""
    from tiemchung.synth import ProfileError, generate, load_profile

    if fmt not in ("parquet", "csv", "xlsx"):
        fail(f"--format must be parquet, csv or xlsx, not '{fmt}'", 2)
    if people < 1:
        fail("--people must be at least 1", 2)
    try:
        prof = load_profile(profile)
    except ProfileError as exc:
        fail(str(exc), 2)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} cells"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"synth {people:,} people", total=None)
        try:
            summary = generate(
                people,
                seed,
                out,
                fmt=fmt,
                profile=prof,
                legacy=legacy,
                workers=workers,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ValueError as exc:
            fail(str(exc), 2)
    counts, rates = summary["counts"], summary["rates"]
    console.print(
        f"[green]✓[/green] {counts['register']:,} register persons, {counts['records']:,} "
        f"dose records ({rates['wrong']:.1%} with a wrong field, {rates['never_entered']:.1%} "
        f"of doses never entered, {counts['duplicates']:,} duplicates) in {out}"
    )


def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="folder for the demo database")
    ] = None,
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="interface")] = "127.0.0.1",
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="start the server")] = True,
    people: Annotated[
        int, typer.Option(help="residents to generate (a first run in the folder only)")
    ] = 50_000,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="xây lại thư mục demo từ đầu / rebuild the demo folder even when it is whole",
        ),
    ] = False,
) -> None:
    """Create a SQLite database with a synthetic province and certificate signing keys, print
    logins and serve it. A folder built whole by an earlier run is reused (seconds, not
    minutes); one whose build stopped half-way is built again."""
    import tempfile

    from tiemchung import demo_folder
    from tiemchung.demo import DEMO_PASSWORD, build_demo
    from tiemchung.installation import initialise

    if people < 1:
        fail("--people must be at least 1", 2)
    directory = directory or Path(tempfile.mkdtemp(prefix="tiemchung-demo-"))
    try:
        state = demo_folder.prepare(directory, fresh=fresh)
    except demo_folder.NotADemoFolderError as exc:
        fail(str(exc), 2)
    os.environ["TIEMCHUNG_DATA_DIR"] = str(directory)
    os.environ["TIEMCHUNG_DATABASE_URL"] = f"sqlite:///{(directory / 'tiemchung.db').resolve()}"
    get_settings.cache_clear()
    settings = get_settings()
    initialise(settings)
    summary = build_demo(settings, people=people)
    if state == "build":
        demo_folder.mark_whole(directory)  # last: a build stopped before here is redone
    out = Console()
    again = " (reused: built by an earlier run)" if summary["reused"] else ""
    out.print(f"[bold]tiemchung demo[/bold] — {directory}{again}")
    for key, value in summary["counts"].items():
        out.print(f"  {key}: {value:,}")
    out.print(f"\nLogins (password [bold]{DEMO_PASSWORD}[/bold]):")
    for username, what in summary["users"]:
        out.print(f"  {username:<14} {what}")
    out.print(f"\nKhoá ký chứng nhận / certificate signing keys: {summary['keys']}", soft_wrap=True)
    out.print(  # soft_wrap: one line to copy, however narrow the terminal
        f"  kiểm tra mã QR / verify a QR: TIEMCHUNG_DATA_DIR={directory} "
        "tiemchung verify --image qr.png",
        soft_wrap=True,
    )
    if serve_:
        out.print(f"\nTrang web / web pages: http://{host}:{port}/")
        out.print(f"API docs: http://{host}:{port}/api/v1/docs")
        out.print(f"Danh sách tin cậy / trust list: http://{host}:{port}/api/v1/trust-list")
        out.print(f"Tin nhắn SMS / text messages: {directory / 'sms.jsonl'}", soft_wrap=True)
        sys.stdout.flush()
        # the demo's texts go to a file, sent by a sender inside `serve` (issue 18)
        os.environ.setdefault(
            "TIEMCHUNG_SMS_GATEWAY", f"file:{(directory / 'sms.jsonl').resolve()}"
        )
        os.environ.setdefault("TIEMCHUNG_SMS_WORKER_IN_SERVE", "1")
        get_settings.cache_clear()
        serve(host=host, port=port, workers=1)
