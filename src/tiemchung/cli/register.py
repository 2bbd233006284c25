"""`tiemchung register import FILE`: a population register snapshot into the registry."""

from __future__ import annotations

import signal
import threading
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


@register_app.command("fake-server")
def fake_server(
    source: Annotated[
        Path, typer.Option("--from", help="register snapshot (Parquet or CSV) / tệp sổ dân cư")
    ],
    host: Annotated[str, typer.Option(help="address to listen on / địa chỉ")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port / cổng")] = 8085,
    latency_ms: Annotated[
        float, typer.Option(help="delay before each answer / độ trễ mỗi câu trả lời (ms)")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option(help="share of answers that are 503 / tỉ lệ lỗi 503 (0–1)")
    ] = 0.0,
    rate_limit: Annotated[
        str, typer.Option(help="N/s: more gets 429 Retry-After / giới hạn yêu cầu mỗi giây")
    ] = "",
    token: Annotated[str, typer.Option(help="bearer token required / mã truy cập bắt buộc")] = "",
    changes: Annotated[
        Path | None,
        typer.Option(help="persons changed, served by /changes / tệp người thay đổi"),
    ] = None,
) -> None:
    """A fake national register over HTTP, for tests and the demo / Sổ dân cư giả lập."""
    import uvicorn

    from tiemchung.gateways.register_fake import FakeRegister

    for f in (source, changes):
        if f is not None and not f.is_file():
            fail(f"{f}: no such file (không tìm thấy tệp)", 2)
    rate_text = rate_limit.strip().removesuffix("/s")
    try:
        rate = float(rate_text) if rate_text else 0.0
    except ValueError:
        fail(f"--rate-limit {rate_limit!r}: expected N/s, e.g. 50/s (ví dụ 50/s)", 2)
    if not 0 <= error_rate <= 1:
        fail(f"--error-rate {error_rate}: expected 0 to 1 (từ 0 đến 1)", 2)
    fake = FakeRegister(
        source,
        changes=changes,
        latency_ms=latency_ms,
        error_rate=error_rate,
        rate_limit=rate,
        token=token,
    )
    console.print(f"fake register on / sổ giả lập tại http://{host}:{port}")
    uvicorn.run(fake.app, host=host, port=port, log_level="warning")


@register_app.command("pull")
def register_pull(
    every: Annotated[
        float | None,
        typer.Option(help="pull again every SECONDS, until stopped / lặp lại mỗi N giây"),
    ] = None,
) -> None:
    """Pull the remote register's changes (TIEMCHUNG_REGISTER_URL) / Lấy thay đổi sổ dân cư."""
    from tiemchung.core import Platform

    stop = threading.Event()
    if every is not None:  # Ctrl-C or SIGTERM ends the wait, never a page half stored
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    with Platform() as platform:
        if platform.register_remote is None:
            fail("TIEMCHUNG_REGISTER_URL is not set (chưa đặt địa chỉ sổ dân cư)", 2)
        while True:
            ok = pull_once(platform)
            if every is None:
                if not ok:
                    raise typer.Exit(1)
                return
            if stop.wait(every):
                return


def pull_once(platform: object) -> bool:
    """One pull, its report printed; False when the register could not answer. The worker
    runs it on its schedule too (``TIEMCHUNG_REGISTER_PULL_EVERY_S``)."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.register_pull import pull
    from tiemchung.registry.people.register_source import RegisterUnavailable
    from tiemchung.registry.scope import Actor

    assert isinstance(platform, Platform) and platform.register_remote is not None
    try:
        with platform.sessions() as s:
            r = pull(
                s,
                Actor.system("register-pull"),
                platform.register_remote,
                batch=platform.settings.register_pull_batch,
            )
    except RegisterUnavailable as exc:
        console.print(f"[red]✗[/red] register unreachable / không liên lạc được sổ dân cư: {exc}")
        return False
    console.print(
        f"[green]✓[/green] {r.created:,} created/thêm mới, {r.corrected:,} corrected/sửa, "
        f"{r.unchanged:,} unchanged/không đổi in {r.pages} pages/trang; cursor {r.cursor}"
    )
    if r.rejected:
        console.print(f"[yellow]![/yellow] {len(r.rejected):,} refused / bị từ chối:")
        for person_id, reason in r.rejected[:50]:
            console.print(f"  {person_id}: {reason}")
    if r.recheck is not None:
        from tiemchung.cli.register_recheck import LABELS

        counts = r.recheck.counts()
        console.print("re-check / kiểm tra lại:")
        for key, label in LABELS:
            if counts.get(key):
                console.print(f"  {counts[key]:>10,}  {label}")
    return True


def pull_loop(platform: object, stop: threading.Event) -> None:
    """The worker's schedule: a pull every ``TIEMCHUNG_REGISTER_PULL_EVERY_S`` until ``stop``
    (a register that cannot answer is tried again at the next turn)."""
    from tiemchung.core import Platform

    assert isinstance(platform, Platform)
    every = platform.settings.register_pull_every_s
    while True:  # a first pull at start, even when the worker stops at once (--once)
        pull_once(platform)
        if stop.wait(every):
            return
