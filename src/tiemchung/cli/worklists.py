"""`tiemchung worklist export|import`: a ward's worklist as a spreadsheet, decided offline.

Export runs with central scope (an operator preparing a ward's file); import acts as the named
user, so the decisions carry that person's name and are limited to their area exactly as
through the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail

worklist_app = typer.Typer(
    help="Commune worklists as spreadsheets / Danh sách rà soát dạng bảng tính",
    no_args_is_help=True,
)


@worklist_app.command("export")
def export(
    ward: Annotated[str, typer.Option(help="2021 GSO ward code")],
    out: Annotated[Path, typer.Option(help="the .xlsx to write")],
) -> None:
    """Write the ward's open review items to an .xlsx to fill in."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.review.xlsx import export_workbook
    from tiemchung.registry.scope import Actor
    from tiemchung.store.audit import audit

    actor = Actor.system("cli")
    with Platform() as platform:
        try:
            with platform.sessions() as session:
                data, ids = export_workbook(session, actor, ward, platform.settings.timezone)
            out.write_bytes(data)
            platform.writer.run(
                lambda s: audit(s, actor, "review_item.export", "worklist", ward, {"items": ids})
            )
            console.print(f"[green]✓[/green] {len(ids)} open items of ward {ward} → {out}")
        except ServiceError as exc:
            fail(str(exc), 2)


@worklist_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="a filled-in export")],
    user: Annotated[str, typer.Option(help="the username deciding (their area applies)")],
    report: Annotated[
        Path | None, typer.Option(help="where to write the report (default FILE.report.xlsx)")
    ] = None,
) -> None:
    """Apply the decisions of a filled-in export; rows that fail are listed with the reason."""
    from tiemchung.auth.users import active_actor
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.review.xlsx import import_workbook, report_workbook

    if not file.is_file():
        fail(f"{file}: không có tệp / no such file", 2)
    with Platform() as platform:
        try:
            with platform.sessions() as session:
                actor = active_actor(session, user)
            if actor is None:
                fail(f"không có người dùng {user} / no active user {user}", 2)
            assert actor is not None
            data = file.read_bytes()
            result = platform.writer.run(lambda s: import_workbook(s, actor, data), timeout=600)
            target = report or file.with_suffix(".report.xlsx")
            target.write_bytes(report_workbook(result))
            for row in result.rows:
                if row.outcome == "failed":
                    console.print(f"  row {row.row} item {row.item_id}: {row.rule} — {row.message}")
            for g in result.by_reason():  # the rows not applied, summed up by reason
                console.print(f"  {g['count']} × {g['vi']} / {g['en']} ({g['rule']})", markup=False)
            console.print(
                f"[green]✓[/green] applied {result.count('applied')}, "
                f"failed {result.count('failed')}, skipped {result.count('skipped')} → {target}"
            )
            if result.count("failed"):
                raise typer.Exit(1)
        except ServiceError as exc:
            fail(str(exc), 2)
