"""`tiemchung aefi list|summary`: the adverse events following immunisation reported in the
store, and their counts by product and lot with the cluster flag (issue 17). Recording is
done at the desk or through the API, where a site user stands behind each report; these
commands only read, with central scope, through the same functions as ``GET /aefi`` and
``GET /aefi/summary``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tiemchung.cli.common import console, fail

if TYPE_CHECKING:
    from tiemchung.registry.aefi.reports import AefiQuery

aefi_app = typer.Typer(
    help="Adverse events following immunisation / Phản ứng sau tiêm: list, summary",
    no_args_is_help=True,
)

Since = Annotated[
    str | None, typer.Option("--from", help="first onset day YYYY-MM-DD / từ ngày khởi phát")
]
Until = Annotated[
    str | None, typer.Option("--to", help="last onset day YYYY-MM-DD / đến ngày khởi phát")
]
Serious = Annotated[
    bool | None,
    typer.Option("--serious/--non-serious", help="only serious or non-serious / mức độ"),
]
Product = Annotated[str | None, typer.Option(help="product code / mã vắc xin")]
Lot = Annotated[str | None, typer.Option(help="lot number / số lô")]
Site = Annotated[str | None, typer.Option(help="site / điểm tiêm")]
Ward = Annotated[str | None, typer.Option(help="ward code / mã xã")]
Province = Annotated[str | None, typer.Option(help="province code / mã tỉnh")]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: ngày không hợp lệ '{text}' (YYYY-MM-DD) / not a date '{text}'", 2)


def _query(
    since: str | None,
    until: str | None,
    serious: bool | None,
    product: str | None,
    lot: str | None,
    site: str | None,
    ward: str | None,
    province: str | None,
) -> AefiQuery:
    from tiemchung.registry.aefi.reports import AefiQuery

    return AefiQuery(
        _day(since, "--from"), _day(until, "--to"), serious, product, lot, site, ward, province
    )


@aefi_app.command("list")
def list_cmd(
    since: Since = None,
    until: Until = None,
    serious: Serious = None,
    product: Product = None,
    lot: Lot = None,
    site: Site = None,
    ward: Ward = None,
    province: Province = None,
    limit: Annotated[int, typer.Option(help="at most / tối đa", min=1)] = 100,
    out: Annotated[Path | None, typer.Option(help="write a CSV file / ghi ra tệp CSV")] = None,
) -> None:
    """Reports, newest first, with the lot's flag / Danh sách phản ứng sau tiêm."""
    from tiemchung.core import Platform
    from tiemchung.registry.aefi import reports, signals
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    q = _query(since, until, serious, product, lot, site, ward, province)
    with Platform() as platform, platform.sessions() as s:
        try:
            items, _ = reports.list_reports(s, Actor.system("cli"), q, tz=platform.tz, limit=limit)
        except ServiceError as exc:
            fail(str(exc), 2)
        rule = signals.rule_from(platform.settings)
        rows: list[dict[str, Any]] = signals.reports_with_flags(s, items, platform.tz, rule)
    if out is not None:
        out.write_bytes(reports.export_csv(rows))
        console.print(f"[green]✓[/green] {len(rows)} reports → {out}")
        return
    for r in rows:
        flag = f"FLAG:{r['flag_reason']}" if r["lot_flagged"] else ""
        print(
            f"{r['id']}\t{r['onset_at']:%Y-%m-%d %H:%M}\t{r['site_id']}\t{r['product_code']}\t"
            f"{r['lot_number'] or ''}\t{','.join(r['symptoms'])}\t"
            f"{'serious' if r['serious'] else 'non-serious'}\t{r['outcome']}\t{flag}".rstrip()
        )


@aefi_app.command("summary")
def summary_cmd(
    by: Annotated[str, typer.Option(help="lot|site|commune|province / theo")] = "lot",
    since: Since = None,
    until: Until = None,
    serious: Serious = None,
    product: Product = None,
    lot: Lot = None,
    site: Site = None,
    ward: Ward = None,
    province: Province = None,
    burst_count: Annotated[
        int | None,
        typer.Option(help="serious reports in the window that flag a lot / số ca", min=1),
    ] = None,
    burst_days: Annotated[
        int | None, typer.Option(help="the window, days / số ngày", min=1)
    ] = None,
    per_10k: Annotated[
        float | None,
        typer.Option(help="serious per 10,000 doses that flag a lot / tỉ lệ", min=0),
    ] = None,
) -> None:
    """Counts by product and lot, flagged lots marked / Số ca theo vắc xin và lô.

    The cluster rule's values are the installation's (TIEMCHUNG_AEFI_*) unless given here."""
    from tiemchung.core import Platform
    from tiemchung.registry.aefi import signals
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    q = _query(since, until, serious, product, lot, site, ward, province)
    with Platform() as platform, platform.sessions() as s:
        # the installation's rule (TIEMCHUNG_AEFI_*), with what the options change
        rule = signals.rule_from(platform.settings)
        rule = replace(
            rule,
            burst_count=burst_count or rule.burst_count,
            burst_days=burst_days or rule.burst_days,
            per_10k=rule.per_10k if per_10k is None else per_10k,
        )
        try:
            rows = signals.summarise(s, Actor.system("cli"), q, tz=platform.tz, by=by, rule=rule)
        except ServiceError as exc:
            fail(str(exc), 2)
    print("place\tproduct\tlot\treports\tserious\tdeaths\tflag")
    for r in rows:
        print(
            f"{r.place_code or '-'}\t{r.product_code}\t{r.lot_number or '-'}\t{r.reports}\t"
            f"{r.serious}\t{r.deaths}\t{r.flag_reason or ''}".rstrip()
        )
