"""The password policy: one check for every place a password is set (issue 17).

A password is set by ``tiemchung users add`` and ``reset-password``, ``POST /users``, the
reset route, the users page and the change-password page and route; all of them go through
:func:`password_problems` (by way of :mod:`tiemchung.auth.users` and
:mod:`tiemchung.auth.admin`), so no door accepts what another refuses. The rules follow NIST
SP 800-63B's advice rather than composition rules: long enough, not the user name, not a
known common password (a short list shipped in ``auth/data``: no look-up goes to the network).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tiemchung.registry.errors import RULE_VIOLATED, FieldProblem, ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 200
MIN_NAME_IN_PASSWORD = 4
COMMON_FILE = Path(__file__).parent / "data" / "common_passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, normalised as :func:`_plain` normalises a candidate."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_plain(line) for line in lines if line.strip() and not line.startswith("#"))


def _plain(text: str) -> str:
    return "".join(text.split()).casefold()


def password_problems(password: str, username: str, field: str = "password") -> list[FieldProblem]:
    """Every rule ``password`` breaks for ``username`` (empty when it is acceptable)."""
    found: list[FieldProblem] = []
    if len(password) < MIN_LENGTH:
        found.append(
            FieldProblem(
                field,
                "too_short",
                f"Mật khẩu tối thiểu {MIN_LENGTH} ký tự",
                f"password must have at least {MIN_LENGTH} characters",
            )
        )
    if len(password) > MAX_LENGTH:
        found.append(
            FieldProblem(
                field,
                "too_long",
                f"Mật khẩu tối đa {MAX_LENGTH} ký tự",
                f"password must have at most {MAX_LENGTH} characters",
            )
        )
    plain, name = _plain(password), _plain(username)
    # containing a name of 4 letters or more; a shorter one ("an") would refuse half of
    # all passwords, so only the name itself is refused then
    if name and (plain == name or (len(name) >= MIN_NAME_IN_PASSWORD and name in plain)):
        found.append(
            FieldProblem(
                field,
                "contains_username",
                "Mật khẩu không được chứa tên đăng nhập",
                "password must not contain the username",
            )
        )
    if plain in common_passwords() or (plain and len(set(plain)) == 1):
        found.append(
            FieldProblem(
                field,
                "too_common",
                "Mật khẩu quá phổ biến, dễ đoán: hãy chọn mật khẩu khác",
                "password is too common and easy to guess: choose another",
            )
        )
    return found


def check_password(password: str, username: str, field: str = "password") -> None:
    """Raise a 422 naming every rule ``password`` breaks (all at once, so the user fixes
    them in one go)."""
    found = password_problems(password, username, field)
    if found:
        raise ServiceError(422, RULE_VIOLATED, found)
