"""`tiemchung changes list`: the change feed partners read by cursor (issue 19 point 3), with
central scope, through the same function as ``GET /api/v1/changes``; the read is audited as
the API's is (one event per page)."""

from __future__ import annotations

from typing import Annotated

import typer

from tiemchung.cli.common import console, fail

changes_app = typer.Typer(
    help="The change feed for partners / Nguồn thay đổi cho đối tác: list",
    no_args_is_help=True,
)


@changes_app.command("list")
def list_cmd(
    after: Annotated[
        int, typer.Option(help="the cursor: the last seq read / con trỏ: seq đã đọc cuối")
    ] = 0,
    limit: Annotated[int, typer.Option(help="at most / tối đa (1-5000)")] = 500,
    json_out: Annotated[
        bool, typer.Option("--json", help="the API's JSON page / trang JSON như API")
    ] = False,
) -> None:
    """Changes after the cursor, in commit order / Các thay đổi sau con trỏ, theo thứ tự.

    Each line: seq, time, action, resource, id, the FHIR URL to re-read; then the next
    cursor (send it as --after next time)."""
    import orjson

    from tiemchung.core import Platform
    from tiemchung.registry.changes import feed
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform:
        try:
            page = platform.in_transaction(
                lambda s: feed.read_changes(s, Actor.system("cli"), after=after, limit=limit)
            )
        except ServiceError as exc:
            fail(str(exc), 2)
    if json_out:
        print(orjson.dumps(page.as_dict()).decode())
        return
    for c in page.changes:
        print(f"{c.seq}\t{c.at.isoformat()}\t{c.action}\t{c.resource}\t{c.id}\t{c.url}")
    more = " (more / còn nữa)" if page.more else ""
    console.print(f"next / tiếp theo: --after {page.next}{more}")
