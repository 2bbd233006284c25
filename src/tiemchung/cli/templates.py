"""`tiemchung messages templates list|show|edit|reset` (issue 18 point 6): the SMS templates
from the command line, over the same service functions as the API and the page
(``registry/messages/templates.py``). The CLI acts as the centre, who edits templates."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tiemchung.cli.common import fail

templates_app = typer.Typer(
    help="SMS templates / Mẫu tin nhắn: list, show, edit, reset",
    no_args_is_help=True,
)
KeyArg = Annotated[
    str, typer.Argument(help="invitation, moved_up, cancelled, reminder, otp / khóa mẫu tin")
]


def _run(job: Any) -> Any:
    """Run ``job(session, actor, sample_link)`` in a transaction; a refusal is printed in both
    languages with exit code 2."""
    from tiemchung.auth.invitelinks import link_maker
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.messages.templates import SAMPLE_INVITATION_ID
    from tiemchung.registry.scope import Actor

    with Platform() as platform:
        # only the link's length counts here, so no key is needed (a fresh data folder
        # before `init` has none): the signature is 20 hex digits whatever the key
        link = link_maker(b"budget", platform.settings.public_url)(SAMPLE_INVITATION_ID)
        try:
            return platform.in_transaction(lambda s: job(s, Actor.system("cli"), link))
        except ServiceError as exc:
            words = "; ".join(f"{p.field}: {p.message_vi} / {p.message_en}" for p in exc.problems)
            fail(f"{exc.title}: {words}", 2)


def _budget_line(b: dict[str, Any]) -> str:
    enc = "GSM-7" if b["encoding"] == "gsm7" else "UCS-2"
    return (
        f"{b['segments']} tin nhắn / SMS, {b['characters']} ký tự / characters "
        f"({b['single_limit']}/{b['segment_limit']}), {enc}, còn / left {b['left']}"
    )


def _show(d: dict[str, Any]) -> None:
    state = "mặc định / built-in" if d["is_default"] else f"sửa bởi / edited by {d['updated_by']}"
    accents = "giữ dấu / accents kept" if d["keep_accents"] else "không dấu / unaccented"
    print(f"{d['key']} — {d['name_vi']} / {d['name_en']} ({state}; {accents})")
    print(d["body"])
    print("dùng được / allowed: " + ", ".join("{" + a + "}" for a in d["allowed"]))
    if d["required"]:
        print("bắt buộc / required: " + ", ".join("{" + a + "}" for a in d["required"]))
    b = d["budget"]
    print("tối đa / worst case: " + b["text"])
    print(_budget_line(b))
    for w in b["warnings"]:
        print(f"! {w['message_vi']} / {w['message_en']}")


@templates_app.command("list")
def list_cmd() -> None:
    """Every template and its cost / Các mẫu tin và số tin nhắn."""
    from tiemchung.registry.messages import templates as svc

    rows = _run(
        lambda s, actor, link: [
            svc.as_dict(t, sample_link=link) for t in svc.list_templates(s, actor)
        ]
    )
    for d in rows:
        state = "default" if d["is_default"] else "edited"
        print(f"{d['key']}\t{state}\t{_budget_line(d['budget'])}")


@templates_app.command("show")
def show_cmd(key: KeyArg) -> None:
    """One template, its placeholders and its worst case / Một mẫu tin."""
    from tiemchung.registry.messages import templates as svc

    _show(
        _run(lambda s, actor, link: svc.as_dict(svc.get_template(s, actor, key), sample_link=link))
    )


@templates_app.command("edit")
def edit_cmd(
    key: KeyArg,
    body: Annotated[
        str, typer.Option("--body", help="the new text with {placeholders} / nội dung mới")
    ],
    keep_accents: Annotated[
        bool, typer.Option("--keep-accents", help="send with accents (UCS-2) / giữ dấu")
    ] = False,
) -> None:
    """Store a new text for a template (audited) / Sửa mẫu tin."""
    from tiemchung.registry.messages import templates as svc

    _show(
        _run(
            lambda s, actor, link: svc.as_dict(
                svc.update_template(s, actor, key, body, keep_accents=keep_accents),
                sample_link=link,
            )
        )
    )


@templates_app.command("reset")
def reset_cmd(key: KeyArg) -> None:
    """Back to the built-in text (audited) / Về nội dung mặc định."""
    from tiemchung.registry.messages import templates as svc

    _show(
        _run(
            lambda s, actor, link: svc.as_dict(svc.reset_template(s, actor, key), sample_link=link)
        )
    )
