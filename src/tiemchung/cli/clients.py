"""`tiemchung clients add|list|disable|rotate|scopes`: partner systems that read the FHIR API
with OAuth2 client credentials (issue 19 point 4), through :mod:`tiemchung.auth.clients`.

The operator acts as the system (central scope) unless ``--user`` names a province or central
administrator, whose area then applies (as ``tiemchung users``). A secret is printed once, on
stdout (the rest on stderr), when the client is added or rotated: it is stored only as a hash.
A disable or rotation reaches a running server within its ``TIEMCHUNG_CLIENT_CACHE_S``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tiemchung.cli.common import console, fail
from tiemchung.cli.users import ActAs, _actor, _words

if TYPE_CHECKING:
    from tiemchung.auth.clients import NewSecret

clients_app = typer.Typer(
    help="Partner clients (OAuth2 client credentials) / Ứng dụng đối tác (OAuth2)",
    no_args_is_help=True,
)


def _run(user: str | None, work: Any) -> Any:
    """Run ``work(session, actor)`` in one transaction, failing with the refusal's words."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError

    with Platform() as platform, platform.sessions() as s:
        try:
            result = work(s, _actor(s, user))
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
    return result


def _show_secret(made: NewSecret) -> None:
    c = made.client
    console.print(
        f"[green]✓[/green] client {c['name']} ({c['area']}): scopes {' '.join(c['scopes'])}\n"
        "  Bí mật chỉ hiện MỘT lần, hãy lưu ngay / the secret is shown ONCE, keep it now:"
    )
    typer.echo(f"client_id={c['client_id']}")
    typer.echo(f"client_secret={made.secret}")


@clients_app.command("add")
def clients_add(
    name: str,
    scopes: Annotated[
        str,
        typer.Option(
            help="space- or comma-separated, e.g. 'system/Immunization.read system/Patient.read'"
            " / phạm vi, cách nhau bởi dấu cách hoặc phẩy"
        ),
    ],
    area: Annotated[
        str,
        typer.Option(
            help="central, a province code or a ward code: what it may read, as a staff "
            "member there / khu vực: central, mã tỉnh hoặc mã phường/xã"
        ),
    ],
    rate: Annotated[
        int | None,
        typer.Option(
            help="requests a minute (default TIEMCHUNG_CLIENT_RATE_PER_MINUTE) / "
            "số yêu cầu mỗi phút"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="a note / ghi chú")] = None,
    user: ActAs = None,
) -> None:
    """Register a partner system and print its client_id and secret once / Đăng ký ứng dụng
    đối tác, in client_id và bí mật một lần."""
    from tiemchung.auth.clients import add_client

    made = _run(
        user,
        lambda s, a: add_client(s, a, name, scopes, area, rate_per_minute=rate, note=note),
    )
    _show_secret(made)


@clients_app.command("list")
def clients_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout")] = False,
    user: ActAs = None,
) -> None:
    """List the partner clients within reach (client_id, name, area, scopes, rate, state) /
    Liệt kê ứng dụng đối tác trong phạm vi."""
    from tiemchung.auth.clients import list_clients

    for c in _run(user, list_clients):
        if as_json:
            typer.echo(json.dumps(c, ensure_ascii=False))
            continue
        state = "disabled" if c["disabled"] else "active"
        rate = c["rate_per_minute"] or "-"
        scopes = " ".join(c["scopes"])
        typer.echo(f"{c['client_id']}\t{c['name']}\t{c['area']}\t{scopes}\t{rate}\t{state}")


@clients_app.command("disable")
def clients_disable(client_id: str, user: ActAs = None) -> None:
    """Disable a client: no new token, and its tokens stop working / Khoá ứng dụng: không
    cấp token mới, token đang dùng bị thu hồi."""
    from tiemchung.auth.clients import disable_client

    _run(user, lambda s, a: disable_client(s, a, client_id))
    console.print(f"[green]✓[/green] client {client_id} disabled / đã khoá")


@clients_app.command("rotate")
def clients_rotate(client_id: str, user: ActAs = None) -> None:
    """A new secret, printed once; the old secret and its tokens stop working / Cấp bí mật
    mới (in một lần); bí mật cũ và token của nó hết hiệu lực."""
    from tiemchung.auth.clients import rotate_secret

    _show_secret(_run(user, lambda s, a: rotate_secret(s, a, client_id)))


@clients_app.command("scopes")
def clients_scopes(
    client_id: str,
    scopes: Annotated[str, typer.Argument(help="the new scopes / phạm vi mới")],
    user: ActAs = None,
) -> None:
    """Replace a client's scopes (tokens already issued keep theirs until they expire) /
    Thay phạm vi của ứng dụng."""
    from tiemchung.auth.clients import set_scopes

    c = _run(user, lambda s, a: set_scopes(s, a, client_id, scopes))
    console.print(f"[green]✓[/green] {client_id}: {' '.join(c['scopes'])}")
