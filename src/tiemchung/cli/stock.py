"""`tiemchung sites|lots|products|stock`: the catalogue, sites, lots and stock of a real
install (issue 17). Each command parses, calls one service of ``registry/catalog/`` (the same
the API and the web call), commits and prints; the CLI acts with central scope, audited as
``cli``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tiemchung.cli.common import console, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tiemchung.registry.scope import Actor

T = TypeVar("T")

sites_app = typer.Typer(
    help="Vaccination sites / Điểm tiêm: add, edit, close, list", no_args_is_help=True
)
lots_app = typer.Typer(
    help="Vaccine lots / Lô vắc xin: receive, transfer, waste, list", no_args_is_help=True
)
products_app = typer.Typer(
    help="The vaccine catalogue / Danh mục vắc xin: list, edit", no_args_is_help=True
)

_KINDS = "commune_health_station|hospital|mobile_team|workplace"


def _run(work: Callable[[Session, Actor, date], T]) -> T:
    """Run ``work(session, actor)`` in one transaction as the CLI; a refusal exits 2."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform, platform.sessions() as s:
        try:
            result = work(s, Actor.system("cli"), platform.today())
            s.commit()
            return result
        except ServiceError as exc:
            fail(str(exc), 2)


@sites_app.command("add")
def sites_add(
    site_id: Annotated[str, typer.Argument(help="the site's code / mã điểm tiêm")],
    name: Annotated[str, typer.Option(help="name / tên điểm tiêm")],
    ward: Annotated[
        str,
        typer.Option(help="2021 GSO ward code (find it: `sites wards NAME`) / mã phường-xã"),
    ],
    kind: Annotated[str, typer.Option(help=f"{_KINDS}")] = "commune_health_station",
) -> None:
    """Create a site in a ward / Tạo điểm tiêm tại một phường-xã."""
    from tiemchung.registry.catalog.sites import create_site

    site = _run(lambda s, a, _t: create_site(s, a, site_id, name, ward, kind))
    console.print(
        f"[green]✓[/green] site {site.site_id} ({site.kind}) in ward {site.ward_code}, "
        f"province {site.province_code}"
    )


@sites_app.command("edit")
def sites_edit(
    site_id: str,
    name: Annotated[str | None, typer.Option(help="new name / tên mới")] = None,
    ward: Annotated[str | None, typer.Option(help="new ward code / mã phường-xã mới")] = None,
    kind: Annotated[str | None, typer.Option(help=_KINDS)] = None,
) -> None:
    """Change a site's name, ward or kind / Sửa tên, phường-xã hoặc loại điểm tiêm."""
    from tiemchung.registry.catalog.sites import SiteChanges, update_site

    changes = SiteChanges(name=name, ward_code=ward, kind=kind)
    site = _run(lambda s, a, _t: update_site(s, a, site_id, changes))
    console.print(f"[green]✓[/green] site {site.site_id}: {site.name}, {site.kind}")


@sites_app.command("close")
def sites_close(site_id: str) -> None:
    """Close a site: no new doses or stock there / Đóng điểm tiêm."""
    from tiemchung.registry.catalog.sites import close_site

    site = _run(lambda s, a, _t: close_site(s, a, site_id))
    console.print(f"[green]✓[/green] site {site.site_id} closed")


@sites_app.command("list")
def sites_list(
    ward: Annotated[str | None, typer.Option(help="only this ward / chỉ phường-xã này")] = None,
) -> None:
    """List sites, one per line, tab-separated, on stdout / Liệt kê điểm tiêm."""
    from tiemchung.registry.catalog.reference import list_sites

    rows, _ = _run(lambda s, a, _t: list_sites(s, a, ward_code=ward, limit=1_000_000, offset=0))
    for r in rows:
        state = "open" if r.active else "closed"
        print(f"{r.site_id}\t{r.kind}\t{r.ward_code}\t{r.province_code}\t{state}\t{r.name}")


@sites_app.command("wards")
def sites_wards(
    words: Annotated[
        list[str],
        typer.Argument(help="words of the ward's name, accents optional, or its code / tên"),
    ],
    province: Annotated[
        str | None, typer.Option(help="only this province's code / chỉ tỉnh này")
    ] = None,
) -> None:
    """Find a ward's code by its name, for `sites add --ward` / Tìm mã phường-xã theo tên.

    Tab-separated: code, ward, district, province."""
    from tiemchung.registry.catalog.places import find_wards

    query = " ".join(words)
    hits = _run(lambda s, _a, _t: find_wards(s, query, province_code=province))
    if not hits:
        fail(f"no ward matches '{query}' / không tìm thấy phường-xã '{query}'", 1)
    for h in hits:
        print(f"{h.code}\t{h.name}\t{h.district}\t{h.province}")


@lots_app.command("receive")
def lots_receive(
    site: Annotated[str, typer.Option(help="the receiving site / điểm nhận")],
    product: Annotated[str, typer.Option(help="product code, e.g. PFIZER / mã vắc xin")],
    lot: Annotated[str, typer.Option(help="lot number / số lô")],
    expiry: Annotated[str, typer.Option(help="expiry YYYY-MM-DD / hạn dùng")],
    doses: Annotated[int, typer.Option(help="doses received / số liều nhận")],
) -> None:
    """Record a delivery of a lot at a site / Ghi nhận nhập lô vắc xin vào điểm tiêm."""
    from tiemchung.registry.catalog.lots import LotReceipt, receive_lot

    try:
        day = date.fromisoformat(expiry)
    except ValueError:
        fail(f"--expiry must be YYYY-MM-DD / hạn dùng phải là YYYY-MM-DD, not '{expiry}'", 2)
    receipt = LotReceipt(product, lot, day, site, doses)
    stored, _ = _run(lambda s, a, t: receive_lot(s, a, receipt, today=t))
    console.print(
        f"[green]✓[/green] lot {stored.lot_number} (id {stored.id}, {stored.product_code}): "
        f"{doses} doses received at {site}"
    )


@lots_app.command("transfer")
def lots_transfer(
    product: Annotated[str, typer.Option(help="product code / mã vắc xin")],
    lot: Annotated[str, typer.Option(help="lot number / số lô")],
    from_site: Annotated[str, typer.Option("--from", help="sending site / điểm chuyển")],
    to_site: Annotated[str, typer.Option("--to", help="receiving site / điểm nhận")],
    doses: Annotated[int, typer.Option(help="doses moved / số liều chuyển")],
) -> None:
    """Move doses of a lot between sites / Chuyển liều của một lô giữa các điểm tiêm."""
    from tiemchung.registry.catalog.lots import find_lot, transfer_lot

    def work(s: Session, a: Actor, _t: date) -> Any:
        return transfer_lot(s, a, find_lot(s, product, lot).id, from_site, to_site, doses)

    _run(work)
    console.print(f"[green]✓[/green] {doses} doses of lot {lot}: {from_site} → {to_site}")


@lots_app.command("waste")
def lots_waste(
    session: Annotated[int, typer.Option(help="the session's id / mã buổi tiêm")],
    lot: Annotated[str, typer.Option(help="lot number / số lô")],
    doses: Annotated[int, typer.Option(help="doses lost / số liều hủy")],
    note: Annotated[str | None, typer.Option(help="why / lý do")] = None,
) -> None:
    """Record doses lost at a session (opened vials) / Ghi liều hủy, hao hụt của buổi tiêm."""
    from tiemchung.registry.catalog.stock import record_wastage

    move = _run(lambda s, a, _t: record_wastage(s, a, session, lot, doses, note))
    console.print(f"[green]✓[/green] {doses} doses of lot {lot} wasted at {move.site_id}")


@lots_app.command("list")
def lots_list(
    site: Annotated[str | None, typer.Option(help="only this site / chỉ điểm này")] = None,
    product: Annotated[str | None, typer.Option(help="only this product / chỉ vắc xin")] = None,
) -> None:
    """List lots with what is left at each site (tab-separated, stdout) / Liệt kê lô."""
    from tiemchung.registry.catalog.lots import list_lots

    lines = _run(lambda s, a, _t: list_lots(s, a, product_code=product, site_id=site))
    for x in lines:
        where = ",".join(f"{k}={v}" for k, v in x.sites.items())
        print(f"{x.id}\t{x.product_code}\t{x.lot_number}\t{x.expiry}\t{x.on_hand}\t{where}")


@products_app.command("list")
def products_list() -> None:
    """List the catalogue with its EU DCC codes (stdout) / Liệt kê danh mục vắc xin."""
    from tiemchung.registry.catalog.reference import products_with_lots

    for p, _lots in _run(lambda s, _a, _t: products_with_lots(s)):
        state = "active" if p.active else "inactive"
        print(f"{p.code}\t{p.name}\t{p.mp}\t{p.ma}\t{p.vp}\t{state}")


@products_app.command("edit")
def products_edit(
    code: str,
    name: Annotated[str | None, typer.Option(help="name / tên")] = None,
    mp: Annotated[str | None, typer.Option(help="EU DCC medicinal product")] = None,
    ma: Annotated[str | None, typer.Option(help="EU DCC marketing authorisation holder")] = None,
    vp: Annotated[str | None, typer.Option(help="EU DCC prophylaxis (SNOMED CT)")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="in use / đang dùng")
    ] = None,
) -> None:
    """Edit a product of the catalogue / Sửa một loại vắc xin trong danh mục."""
    from tiemchung.registry.catalog.products import ProductChanges, update_product

    changes = ProductChanges(name=name, mp=mp, ma=ma, vp=vp, active=active)
    p = _run(lambda s, a, _t: update_product(s, a, code, changes))
    console.print(f"[green]✓[/green] {p.code}: {p.name} ({'active' if p.active else 'inactive'})")


def stock(
    level: Annotated[str, typer.Option(help="site|commune|province / cấp")] = "site",
    site: Annotated[str | None, typer.Option(help="only this site / chỉ điểm này")] = None,
    ward: Annotated[str | None, typer.Option(help="only this ward / chỉ xã này")] = None,
    province: Annotated[str | None, typer.Option(help="only this province / chỉ tỉnh")] = None,
    out: Annotated[Path | None, typer.Option(help="write a .csv or .xlsx / ghi ra tệp")] = None,
) -> None:
    """Stock on hand per lot at each site, commune or province / Tồn kho theo lô."""
    from tiemchung.registry.catalog.stock import export_stock, stock_rows

    def work(s: Session, a: Actor, t: date) -> Any:
        rows = stock_rows(s, a, level, site_id=site, ward_code=ward, province_code=province)
        return rows, t

    rows, today = _run(work)
    if out is not None:
        fmt = "csv" if out.suffix.lower() == ".csv" else "xlsx"
        body, _media, _name = export_stock(rows, fmt, today)
        out.write_bytes(body)
        console.print(f"[green]✓[/green] {len(rows)} rows → {out}")
        return
    for r in rows:
        d = r.as_dict(today)
        print(
            f"{d['place_code']}\t{d['product_code']}\t{d['lot_number']}\t{d['expiry']}\t"
            f"{d['received']}\t{d['administered']}\t{d['wasted']}\t{d['on_hand']}"
        )
