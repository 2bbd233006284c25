"""`tiemchung users add|disable|reset-password|list`: logins, their roles and the areas they
may see, through the same services as ``/api/v1/users`` and the users page.

The operator at the command line acts as the system (central scope) unless ``--user`` names
an administrator whose area then applies, as on the page. ``add`` bootstraps an installation,
so its password is kept by default (``--must-change`` to force a change at the first sign-in);
``reset-password`` always forces one. A change made here reaches a running server within its
30-second cache of users' states.
"""

from __future__ import annotations

import getpass
import json
import os
from typing import TYPE_CHECKING, Annotated

import typer

from tiemchung.cli.common import console, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

users_app = typer.Typer(help="Users and roles / Người dùng và vai trò", no_args_is_help=True)

ActAs = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="act as this province/central administrator (their area applies) / "
        "thực hiện với quyền của quản trị viên này",
    ),
]


def _words(exc: ServiceError) -> str:
    """A refusal in both languages, each problem on its line."""
    lines = [f"{p.field}: {p.message_vi} / {p.message_en} ({p.rule})" for p in exc.problems]
    return "\n  ".join([exc.title, *lines])


def _actor(session: Session, user: str | None) -> Actor:
    from tiemchung.auth.users import active_actor
    from tiemchung.registry.scope import Actor

    if user is None:
        return Actor.system("cli")
    actor = active_actor(session, user)
    if actor is None:
        fail(f"--user: không có người dùng đang hoạt động '{user}' / no active user '{user}'", 2)
    return actor


def _password(given: str | None) -> str:
    return given or os.environ.get("TIEMCHUNG_PASSWORD") or getpass.getpass("Password: ")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="central|province|commune|site|citizen")],
    province: Annotated[str | None, typer.Option(help="province code (province role)")] = None,
    ward: Annotated[str | None, typer.Option(help="ward code (commune role)")] = None,
    site: Annotated[str | None, typer.Option(help="site id (site role)")] = None,
    person: Annotated[str | None, typer.Option(help="register person id (citizen)")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="password; prompted when omitted, or read from TIEMCHUNG_PASSWORD"),
    ] = None,
    must_change: Annotated[
        bool,
        typer.Option(
            help="the user must change the password at the first sign-in / "
            "buộc đổi mật khẩu ở lần đăng nhập đầu"
        ),
    ] = False,
    user: ActAs = None,
) -> None:
    """Create a user with a role and the area it is scoped to / Tạo người dùng với vai trò
    và khu vực. The password must have 10 characters or more, not contain the username and
    not be a common one / Mật khẩu từ 10 ký tự, không chứa tên đăng nhập, không phổ biến."""
    from tiemchung.auth.users import AreaKeys, add_user
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Role

    try:
        role_value = Role(role)
    except ValueError:
        fail(f"--role must be one of {[r.value for r in Role]}, not '{role}'", 2)
    password = _password(password)
    with Platform() as platform, platform.sessions() as s:
        try:
            keys = AreaKeys(province, ward, site, person)
            actor = _actor(s, user)
            created = add_user(
                s, actor, username, password, role_value, keys, must_change=must_change
            )
            s.commit()
            console.print(f"[green]✓[/green] user {created.username} ({created.role}) created")
        except ServiceError as exc:
            fail(_words(exc), 2)


@users_app.command("disable")
def users_disable(
    username: str,
    enable: Annotated[
        bool, typer.Option("--enable", help="enable the user again / mở khoá lại")
    ] = False,
    user: ActAs = None,
) -> None:
    """Disable a user: no sign-in, and every token or session they hold stops working /
    Khoá người dùng: không đăng nhập được, mọi phiên đang mở bị thu hồi."""
    from tiemchung.auth import admin
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError

    with Platform() as platform, platform.sessions() as s:
        try:
            actor = _actor(s, user)
            uid = admin.find_user_id(s, actor, username)
            admin.update_user(s, actor, uid, admin.UserChange(disabled=not enable))
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
    word = "enabled / đã mở khoá" if enable else "disabled / đã khoá"
    console.print(f"[green]✓[/green] user {username} {word}")


@users_app.command("reset-password")
def users_reset_password(
    username: str,
    password: Annotated[
        str | None,
        typer.Option(help="temporary password; prompted when omitted, or TIEMCHUNG_PASSWORD"),
    ] = None,
    user: ActAs = None,
) -> None:
    """Set a temporary password: the user must change it at the next sign-in, and their
    sessions end / Đặt mật khẩu tạm: người dùng phải đổi ở lần đăng nhập sau."""
    from tiemchung.auth import admin
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError

    password = _password(password)
    with Platform() as platform, platform.sessions() as s:
        try:
            actor = _actor(s, user)
            uid = admin.find_user_id(s, actor, username)
            admin.reset_password(s, actor, uid, password)
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
    console.print(f"[green]✓[/green] password of {username} reset / đã đặt lại mật khẩu")


@users_app.command("list")
def users_list(
    role: Annotated[str | None, typer.Option(help="only this role / chỉ vai trò này")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout")] = False,
    user: ActAs = None,
) -> None:
    """List the users within reach (one a line: id, username, role, area, state) /
    Liệt kê người dùng trong phạm vi."""
    from tiemchung.auth import admin
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Role

    try:
        role_value = Role(role) if role else None
    except ValueError:
        fail(f"--role must be one of {[r.value for r in Role]}, not '{role}'", 2)
    with Platform() as platform, platform.sessions() as s:
        try:
            actor = _actor(s, user)
            after: int | None = None
            while True:
                items, after = admin.list_users(s, actor, role=role_value, after=after, limit=500)
                for u in items:
                    if as_json:
                        typer.echo(json.dumps(u, default=str, ensure_ascii=False))
                        continue
                    area = u["site_id"] or u["ward_code"] or u["province_code"] or "-"
                    state = "active" if u["active"] else "disabled"
                    if u["must_change_password"]:
                        state += ",must-change"
                    typer.echo(f"{u['id']}\t{u['username']}\t{u['role']}\t{area}\t{state}")
                if after is None:
                    break
        except ServiceError as exc:
            fail(_words(exc), 2)
