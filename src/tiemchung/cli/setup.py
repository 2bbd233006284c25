"""`tiemchung init` and `tiemchung doctor`: prepare a deployment and check it
(the work is :mod:`tiemchung.installation`'s)."""

from __future__ import annotations

import typer

from tiemchung.cli.common import console
from tiemchung.config import get_settings

_MARKS = {"ok": "[green]✓[/green]", "fail": "[red]✗[/red]", "warn": "[yellow]![/yellow]"}


def init() -> None:
    """Migrate the database, load administrative units and the vaccine catalogue, create the
    token key / Cập nhật CSDL, nạp đơn vị hành chính và danh mục vắc xin, tạo khóa."""
    from tiemchung.installation import initialise

    settings = get_settings()
    info = initialise(settings)
    console.print(
        f"[green]✓[/green] database at revision {info['revision']}, "
        f"{info['admin_units']} administrative units, "
        f"{info['products']} vaccine products ({info['products_added']} new), "
        f"{info['priority_groups_added']} priority groups new, "
        f"keys in {settings.data_dir}/keys"
    )


def doctor() -> None:
    """Check the database is reachable, migrations are current and keys are present."""
    from tiemchung.installation import check

    findings = check(get_settings())
    for f in findings:
        # a warning is one line to read whole, however narrow the terminal
        console.print(f"{_MARKS[f.state]} {f.message}", soft_wrap=f.state == "warn")
    raise typer.Exit(1 if any(f.state == "fail" for f in findings) else 0)
