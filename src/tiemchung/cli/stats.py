"""`tiemchung stats refresh|show` and `tiemchung tallies import`: the dashboard's snapshot from
the command line (for cron: ``*/10 * * * * tiemchung stats refresh``) and the sites' tallies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tiemchung.cli.common import console

stats_app = typer.Typer(help="Dashboard statistics / Số liệu thống kê", no_args_is_help=True)


@stats_app.command("refresh")
def refresh() -> None:
    """Take a new snapshot of the store for the dashboard now."""
    from tiemchung.core import Platform
    from tiemchung.stats.service import StatsService

    with Platform() as platform:
        # the command line waits for a first snapshot however long it takes
        svc = StatsService(platform.engine, Path(platform.settings.data_dir), first_wait=86_400)
        snap = svc.refresh()
    console.print(
        f"[green]✓[/green] snapshot {snap.path.name}: {snap.meta['rows']['doses']:,} doses, "
        f"export {snap.meta['export_seconds']} s, build {snap.meta['build_seconds']} s"
    )


@stats_app.command("show")
def show(
    name: Annotated[
        str,
        typer.Argument(
            help="coverage, doses_per_day, doses_by_product, site_people, stock, quality, … "
            "/ tên bảng"
        ),
    ],
    province: Annotated[str | None, typer.Option(help="2021 GSO province code")] = None,
    ward: Annotated[str | None, typer.Option(help="2021 GSO ward code")] = None,
    site: Annotated[
        str | None,
        typer.Option(help="One vaccination site: its own doses / Một điểm tiêm: mũi tiêm của nó"),
    ] = None,
) -> None:
    """Print one table of the current snapshot as JSON (central scope); ``stock`` is read
    live from the store, as on the dashboard."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor
    from tiemchung.stats.filters import Filters, scope
    from tiemchung.stats.queries import table
    from tiemchung.stats.reads import STOCK
    from tiemchung.stats.service import StatsService
    from tiemchung.stats.stockview import stock_table

    try:
        with Platform() as platform:
            # the command line waits for a first snapshot however long it takes
            svc = StatsService(platform.engine, Path(platform.settings.data_dir), first_wait=86_400)
            actor, f = Actor.system("cli"), Filters(province, ward, site=site)
            with svc.cursor() as (cur, snap):
                if name == STOCK:  # the same panel as the dashboard's, for the same area
                    with platform.sessions() as session:
                        t = stock_table(session, actor, scope(cur, actor, f), platform.today())
                else:
                    t = table(cur, name, actor, f, platform.today(), full=True)
    except ServiceError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(1) from None
    typer.echo(
        json.dumps(
            {"built_at": snap.meta["built_at"], "table": t.to_json()},
            ensure_ascii=False,
            indent=1,
        )
    )


@stats_app.command("import-tallies")
def import_tallies_command(
    file: Annotated[Path, typer.Argument(help="site_id, report_date, vaccine, reported")],
) -> None:
    """Load the sites' hand tallies (CSV, Parquet or xlsx); refused rows go to a rejects file."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.tallies import TallyFileError, import_tallies
    from tiemchung.registry.scope import Actor

    try:
        with Platform() as platform, platform.sessions() as s:
            rep = import_tallies(s, Actor.system("cli"), file)
    except TallyFileError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"[green]✓[/green] {rep.rows_imported:,} imported, {rep.rows_skipped:,} "
        f"already stored, {rep.rows_rejected:,} refused"
    )
    if rep.rejects_file:
        console.print(f"  refused rows and reasons: {rep.rejects_file} ({rep.reasons})")
        raise typer.Exit(2)
