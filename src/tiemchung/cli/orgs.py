"""`tiemchung orgs add|approve|refuse|add-user|list`, `tiemchung groups list|edit` and
`tiemchung registrations import FILE --org O [--map M]` (issue 18 points 1–3).

Each command parses, calls the service of ``registry/people/registration/`` (the same the
API calls) and prints. The operator acts as the system (central scope) unless ``--user``
names an active user, whose role and area then apply (a commune user approves only its
ward's organisations; an ``org`` user imports only its own organisation's lists).
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiemchung.cli.common import console, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

orgs_app = typer.Typer(
    help="Organisations that register their people / Tổ chức đăng ký tiêm cho người lao động: "
    "add, approve, refuse, add-user, list",
    no_args_is_help=True,
)
groups_app = typer.Typer(
    help="Priority groups / Nhóm đối tượng ưu tiên: list, edit", no_args_is_help=True
)
registrations_app = typer.Typer(
    help="Registrations / Đăng ký tiêm: import an organisation's list", no_args_is_help=True
)

ActAs = Annotated[
    str | None,
    typer.Option("--user", help="act as this user (their role and area apply) / "
                 "thực hiện với quyền của người dùng này"),
]  # fmt: skip
OrgKey = Annotated[str, typer.Argument(help="organisation id or tax code / mã hoặc MST tổ chức")]


def _words(exc: ServiceError) -> str:
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


@orgs_app.command("add")
def add(
    name: Annotated[str, typer.Option(help="name / tên tổ chức")],
    code: Annotated[str, typer.Option(help="tax or agency code / mã số thuế hoặc mã cơ quan")],
    ward: Annotated[str, typer.Option(help="2021 ward code / mã phường, xã")],
    kind: Annotated[
        str, typer.Option(help="company|school|agency|market|other / loại tổ chức")
    ] = "company",
    contact_name: Annotated[str | None, typer.Option(help="contact / người liên hệ")] = None,
    contact_phone: Annotated[str | None, typer.Option(help="phone / điện thoại")] = None,
    contact_email: Annotated[str | None, typer.Option(help="email")] = None,
    user: ActAs = None,
) -> None:
    """Record an organisation's application / Ghi nhận đơn đăng ký của tổ chức."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.people.registration import organisations as orgs

    app = orgs.Application(name, code, kind, ward, contact_name, contact_phone, contact_email)
    with Platform() as platform, platform.sessions() as s:
        try:
            org = orgs.apply(s, _actor(s, user), app)
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
        print(f"{org.id}\t{org.code}\t{org.status}")


def _decide(key: str, approve: bool, note: str | None, user: str | None) -> None:
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.people.registration import organisations as orgs

    with Platform() as platform, platform.sessions() as s:
        try:
            actor = _actor(s, user)
            org = orgs.find_organisation(s, actor, key)
            orgs.decide(s, actor, org.id, approve=approve, note=note)
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
        console.print(f"[green]✓[/green] {org.code}: {org.status}")


@orgs_app.command("approve")
def approve(
    org: OrgKey,
    note: Annotated[str | None, typer.Option(help="note / ghi chú")] = None,
    user: ActAs = None,
) -> None:
    """Approve an application (audited) / Duyệt đơn của tổ chức."""
    _decide(org, True, note, user)


@orgs_app.command("refuse")
def refuse(
    org: OrgKey,
    note: Annotated[str, typer.Option(help="why (required) / lý do (bắt buộc)")],
    user: ActAs = None,
) -> None:
    """Refuse an application, saying why (audited) / Từ chối đơn, ghi lý do."""
    _decide(org, False, note, user)


@orgs_app.command("add-user")
def add_user(
    org: OrgKey,
    username: Annotated[str, typer.Argument(help="username / tên đăng nhập")],
    password: Annotated[
        str | None, typer.Option(help="or TIEMCHUNG_PASSWORD, or asked / mật khẩu")
    ] = None,
    user: ActAs = None,
) -> None:
    """Give an approved organisation a user who submits its lists / Cấp tài khoản cho tổ chức."""
    from tiemchung.auth.orgusers import add_organisation_user
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.people.registration import organisations as orgs

    secret = password or os.environ.get("TIEMCHUNG_PASSWORD") or getpass.getpass("Password: ")
    with Platform() as platform, platform.sessions() as s:
        try:
            actor = _actor(s, user)
            found = orgs.find_organisation(s, actor, org)
            made = add_organisation_user(s, actor, found.id, username, secret)
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
        console.print(f"[green]✓[/green] {made.username} → {found.code}")


@orgs_app.command("list")
def list_cmd(
    status: Annotated[
        str | None, typer.Option(help="applied|approved|refused / trạng thái")
    ] = None,
    user: ActAs = None,
) -> None:
    """Organisations and their status / Danh sách tổ chức."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.people.registration import organisations as orgs

    with Platform() as platform, platform.sessions() as s:
        try:
            found = orgs.list_organisations(s, _actor(s, user), status=status, limit=10_000)
        except ServiceError as exc:
            fail(_words(exc), 2)
        for o in found:
            print(f"{o.id}\t{o.code}\t{o.status}\t{o.kind}\t{o.ward_code}\t{o.name}")


@groups_app.command("list")
def groups_list() -> None:
    """The priority groups in order / Các nhóm ưu tiên."""
    from tiemchung.core import Platform
    from tiemchung.registry.people.registration.priority import list_priority_groups

    with Platform() as platform, platform.sessions() as s:
        for g in list_priority_groups(s):
            state = "" if g.active else "\t(inactive / ngừng)"
            print(f"{g.code}\t{g.name_vi}\t{g.name_en}{state}")


@groups_app.command("edit")
def groups_edit(
    code: Annotated[str, typer.Argument(help="group code (a new one adds it) / mã nhóm")],
    name_vi: Annotated[str | None, typer.Option(help="Vietnamese name / tên tiếng Việt")] = None,
    name_en: Annotated[str | None, typer.Option(help="English name / tên tiếng Anh")] = None,
    sort: Annotated[int | None, typer.Option(help="order / thứ tự")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="offered or not / còn dùng")
    ] = None,
    user: ActAs = None,
) -> None:
    """Edit or add a priority group (central; audited) / Sửa hoặc thêm nhóm ưu tiên."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.people.registration.priority import GroupChanges, save_priority_group

    with Platform() as platform, platform.sessions() as s:
        try:
            g = save_priority_group(
                s, _actor(s, user), code, GroupChanges(name_vi, name_en, sort, active)
            )
            s.commit()
        except ServiceError as exc:
            fail(_words(exc), 2)
        console.print(f"[green]✓[/green] {g.code}: {g.name_vi} / {g.name_en}")


@registrations_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="XLSX, CSV or Parquet / tệp danh sách")],
    org: Annotated[str, typer.Option("--org", help="organisation id or tax code / tổ chức")],
    map_file: Annotated[
        Path | None,
        typer.Option("--map", help="TOML [columns] header = column / tệp ánh xạ cột"),
    ] = None,
    user: ActAs = None,
) -> None:
    """Check an organisation's list against the register and store every row with its
    result / Đối chiếu danh sách của tổ chức với sổ dân cư, lưu mọi dòng kèm kết quả."""
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.people.registration import organisations as orgs
    from tiemchung.registry.people.registration import upload

    try:
        columns = upload.load_list_mapping(map_file) if map_file is not None else None
    except upload.MappingError as exc:
        fail(str(exc), 2)
    with Platform() as platform:
        try:
            with platform.sessions() as s:
                actor = _actor(s, user)
                org_id = orgs.find_organisation(s, actor, org).id
            summary = upload.import_list(platform.sessions, actor, org_id, file, columns)
        except upload.LegacyFileError as exc:
            fail(str(exc), 2)
        except ServiceError as exc:
            fail(_words(exc), 2)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    console.print(
        f"[green]✓[/green] {summary.rows} rows in {len(summary.batches)} batches: {counts}; "
        f"{summary.registrations_new} new registrations, "
        f"{summary.registrations_joined} joined one already there"
    )
    for b in summary.batches:
        print(b)
