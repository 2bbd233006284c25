"""`tiemchung messages templates list|show|edit|reset` (both backends): an edit stored and
shown with its cost, a wrong placeholder refused by name in both languages, a reset."""

from __future__ import annotations

from typer.testing import CliRunner

from tiemchung.cli.main import app
from tiemchung.config import Settings

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_edit_show_list_and_reset(env: Settings) -> None:
    listed = _run("messages", "templates", "list").strip().splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        [k, "default"] for k in ("invitation", "moved_up", "cancelled", "reminder", "otp")
    ]
    out = _run("messages", "templates", "edit", "reminder", "--body", "Mui {dose} ngay {due}")
    # "Mui 10 ngay 31/12/2026": 22 characters, one segment, 138 left
    assert "Mui 10 ngay 31/12/2026" in out
    assert "1 tin nhắn / SMS, 22 ký tự / characters (160/153), GSM-7, còn / left 138" in out
    assert "edited by cli" in _run("messages", "templates", "show", "reminder")
    long = _run("messages", "templates", "edit", "cancelled", "--body", "x" * 161)
    assert "2 tin nhắn / SMS" in long and "segments" in long
    assert "reminder\tedited" in _run("messages", "templates", "list")
    assert "built-in" in _run("messages", "templates", "reset", "reminder")


def test_a_wrong_placeholder_is_refused_by_name(env: Settings) -> None:
    out = _run("messages", "templates", "edit", "otp", "--body", "Ma {pin}", code=2)
    assert "{pin}" in out and "{code}" in out
    assert "không có giá trị" in out and "has no value" in out
    assert "built-in" in _run("messages", "templates", "show", "otp")
