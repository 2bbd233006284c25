"""`tiemchung backup OUT` and `tiemchung restore IN` (the work is :mod:`tiemchung.ops.backup`'s;
what a backup holds and how to schedule and drill it: docs/backup.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail
from tiemchung.config import get_settings
from tiemchung.ops.archive import BackupError
from tiemchung.registry.errors import ServiceError


def backup(
    out: Annotated[
        Path, typer.Argument(help="The archive to write (.tar) / Tệp sao lưu sẽ ghi (.tar)")
    ],
    no_keys: Annotated[
        bool,
        typer.Option(
            "--no-keys",
            help="Leave keys/ out (a restore then cannot sign under the same CSCA) / "
            "Không gồm keys/ (bản khôi phục sẽ không ký được bằng CSCA cũ)",
        ),
    ] = False,
) -> None:
    """Back up the database and the keys (encrypted) into one archive / Sao lưu CSDL và khoá
    (đã mã hoá) vào một tệp."""
    from tiemchung.ops.backup import create_backup, passphrase

    settings = get_settings()
    try:
        secret = None if no_keys else passphrase(settings)
        result = create_backup(settings, out, include_keys=not no_keys, secret=secret)
    except ServiceError as exc:
        fail(str(exc), 2 if isinstance(exc, BackupError) else 1)
    m = result.manifest
    counts = ", ".join(f"{t} {n:,}" for t, n in m["row_counts"].items())
    console.print(
        f"[green]✓[/green] {out}: {m['database']} at {m['alembic_revision']}, keys "
        f"{m['keys']}; {counts}"
    )
    if no_keys:
        console.print(
            "[yellow]![/yellow] keys/ not included: keep them safe apart / "
            "không gồm keys/: hãy giữ khoá riêng an toàn"
        )


def restore(
    archive: Annotated[
        Path, typer.Argument(help="The archive to restore / Tệp sao lưu cần khôi phục")
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace a database or keys that already hold data / "
            "Ghi đè CSDL hoặc khoá đã có dữ liệu",
        ),
    ] = False,
) -> None:
    """Restore an archive into this installation (checked first), then migrate it to this
    version / Khôi phục bản sao lưu (kiểm tra trước), rồi nâng cấp CSDL."""
    from tiemchung.ops.backup import passphrase, restore_backup

    settings = get_settings()
    try:
        report = restore_backup(settings, archive, force=force, secret=passphrase(settings))
    except ServiceError as exc:
        fail(str(exc), 2 if isinstance(exc, BackupError) else 1)
    m = report.manifest
    console.print(
        f"[green]✓[/green] restored {archive} ({m['database']}, made {m['created_at']} by "
        f"tiemchung {m['tiemchung_version']})"
    )
    if report.migrated_from:
        console.print(f"  migrated {report.migrated_from} → head / đã nâng cấp CSDL")
    console.print(
        f"  keys: {len(report.keys_restored)} files restored"
        if report.keys_restored
        else "  [yellow]![/yellow] the archive holds no keys / bản sao lưu không có khoá"
    )
    if report.kept_aside:
        console.print(f"  the keys that were here: {report.kept_aside}")
    bad = report.mismatches
    for table, want in m["row_counts"].items():
        found = report.counts.get(table)
        mark = "[red]✗[/red]" if table in bad else "[green]✓[/green]"
        console.print(f"  {mark} {table}: {found} found, {want} in the manifest")
    if bad:
        fail("row counts differ from the manifest / số dòng khác manifest", 1)
