"""`tiemchung export fhir`: the FHIR bulk export (``$export``) written to a folder from the
command line, by the same service as the server's jobs (``fhir/bulk.export_to_folder``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail

export_app = typer.Typer(
    help="Export the data in standard formats / Xuất dữ liệu theo chuẩn", no_args_is_help=True
)


@export_app.command("fhir")
def fhir(
    out: Annotated[
        Path, typer.Option(help="Folder for the NDJSON files / Thư mục ghi các tệp NDJSON")
    ],
    type_: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Patient, Immunization or both, comma-separated / Loại tài nguyên, cách "
            "nhau bởi dấu phẩy",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only what changed after this instant, e.g. 2026-01-31T08:00:00+07:00 / "
            "Chỉ những gì thay đổi sau thời điểm này"
        ),
    ] = None,
    ward: Annotated[
        str | None,
        typer.Option(
            help="A ward (5 digits) or province (2 digits) code: its people and their doses "
            "/ Mã xã (5 số) hoặc tỉnh (2 số)"
        ),
    ] = None,
) -> None:
    """Write Patient.ndjson and Immunization.ndjson (FHIR R4) to a folder (central scope)
    / Ghi dữ liệu FHIR R4 dạng NDJSON ra thư mục."""
    from tiemchung.core import Platform
    from tiemchung.fhir import codes
    from tiemchung.fhir.bulk import export_to_folder
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform:
        try:
            output = export_to_folder(
                platform.sessions,
                Actor.system("cli"),
                out,
                types=type_,
                since=since,
                group=ward,
                sy=codes.systems(platform.settings.fhir_system_base),
            )
        except ServiceError as exc:
            problems = "; ".join(
                f"{p.field}: {p.message_vi} / {p.message_en}" for p in exc.problems
            )
            fail(problems, 2)
    for o in output:
        console.print(f"[green]✓[/green] {o['type']}: {o['count']:,} → {out / o['file']}")
