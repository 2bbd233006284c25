"""`tiemchung register recheck`: re-check the stored doses of persons the register changed.

``register pull`` runs the same service (``registry/review/register_recheck.recheck_persons``)
right after it upserts the changed persons; this command runs it on its own: for a list of
register person ids (one a line), or for every person updated since a time (a pull that was
interrupted after its upsert, or a snapshot imported by hand).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail

LABELS = (
    ("persons", "người đã đổi / persons changed"),
    ("linked_doses", "mũi đã liên kết, kiểm tra lại / linked doses re-checked"),
    ("flagged", "nay không khớp, mở mục rà soát / now disagree, item opened"),
    ("already_flagged", "không khớp, đã có mục / disagree, item already open"),
    ("reverified", "nay khớp, xác minh lại / now agree, verified again"),
    ("items_closed", "mục rà soát đã đóng / items closed"),
    ("unlinked_checked", "mũi chưa liên kết, kiểm tra / unlinked doses checked"),
    ("linked", "đã liên kết / linked"),
    ("unlinked_flagged", "chưa liên kết, mở mục / unlinked, item opened"),
    ("unlinked_already", "chưa liên kết, đã có mục / unlinked, item already open"),
    ("kept_person_decision", "do người quyết định, mở mục / decided by a person, item opened"),
    ("superseded", "mục cũ thay thế / older items superseded"),
    ("changes", "thay đổi cho đối tác / changes for partners"),
)


def _read_ids(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: không đọc được tệp / cannot read the file ({exc})", 2)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_since(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(
            f"--since {value!r}: thời điểm không hợp lệ, dùng ISO 8601 (2026-12-07T08:00:00Z) / "
            "not a valid time, use ISO 8601 (2026-12-07T08:00:00Z)",
            2,
        )


def recheck(
    person_ids: Annotated[
        Path | None,
        typer.Option(
            "--person-ids",
            help="tệp mã người trong sổ dân cư, mỗi dòng một mã / file of register person ids, "
            "one a line",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="mọi người cập nhật từ thời điểm này (ISO 8601, không múi giờ: UTC) / every "
            "person updated since this time (ISO 8601, no zone: UTC)"
        ),
    ] = None,
) -> None:
    """Kiểm tra lại các mũi tiêm của người mà sổ dân cư đã thay đổi / Re-check the stored
    doses of persons the register changed: flag those that now disagree, link those that now
    verify. The report is printed, and written as JSON on standard output."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.review.register_recheck import changed_persons, recheck_persons
    from tiemchung.registry.scope import Actor

    if (person_ids is None) == (since is None):
        fail("Cần đúng một trong --person-ids hoặc --since / give exactly one of "
             "--person-ids or --since", 2)  # fmt: skip
    ids = _read_ids(person_ids) if person_ids is not None else None
    when = _parse_since(since) if since is not None else None
    with Platform() as platform, platform.sessions() as s:
        try:
            keys = changed_persons(s, person_ids=ids, since=when)
        except ServiceError as exc:
            for p in exc.problems:
                console.print(f"[red]✗[/red] {p.field}: {p.message_vi} / {p.message_en}")
            raise typer.Exit(2) from exc
        report = recheck_persons(s, keys, actor=Actor.system("cli"))
        s.commit()
    counts = report.counts()
    for key, label in LABELS:
        console.print(f"  {counts[key]:>10,}  {label}")
    console.print(f"[green]✓[/green] {report.seconds:.1f} s")
    sys.stdout.write(json.dumps({"source": report.source, **counts,
                                 "seconds": report.seconds}) + "\n")  # fmt: skip
