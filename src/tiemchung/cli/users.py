"""`tiemchung users add`: a login with its role and the area it may see."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail

users_app = typer.Typer(help="Users and roles / Người dùng và vai trò", no_args_is_help=True)


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
) -> None:
    """Create a user with a role and the area it is scoped to."""
    from tiemchung.auth.users import create_user
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor, Role

    try:
        role_value = Role(role)
    except ValueError:
        fail(f"--role must be one of {[r.value for r in Role]}, not '{role}'", 2)
    password = password or os.environ.get("TIEMCHUNG_PASSWORD") or getpass.getpass("Password: ")
    with Platform() as platform, platform.sessions() as s:
        try:
            user = create_user(
                s,
                Actor.system("cli"),
                username,
                password,
                role_value,
                province_code=province,
                ward_code=ward,
                site_id=site,
                person_id=person,
            )
            s.commit()
            console.print(f"[green]✓[/green] user {user.username} ({user.role}) created")
        except ServiceError as exc:
            fail(str(exc), 2)
