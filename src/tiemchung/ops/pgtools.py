"""``pg_dump`` and ``pg_restore`` behind a small adapter: finding the binary, calling it.

Why a subprocess: PostgreSQL's own tools are the only supported way to take a consistent,
restorable copy of a live database (``--format=custom`` keeps the schema, the data and the
sequences' positions, and restores in dependency order). The binary must be at least as new
as the server (an older ``pg_dump`` refuses a newer server), so the one matching the server's
major version is looked for where Debian installs it, unless ``TIEMCHUNG_PG_BIN`` names a
folder. The password travels in ``PGPASSWORD``, never on the command line that ``ps`` shows.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from tiemchung.registry.errors import FieldProblem, ServiceError


class PgToolError(ServiceError):
    """``pg_dump`` or ``pg_restore`` missing or failed; the message carries its stderr."""


def _error(rule: str, vi: str, en: str) -> PgToolError:
    return PgToolError(
        500, "Backup tool failed / Công cụ sao lưu lỗi", [FieldProblem("pg_bin", rule, vi, en)]
    )


def find_binary(name: str, server_major: int | None, pg_bin: str = "") -> Path:
    """``name`` (pg_dump, pg_restore) from ``pg_bin`` if set, else Debian's folder for the
    server's major version, else the newest installed one not older, else ``PATH``."""
    if pg_bin:
        path = Path(pg_bin) / name
        if not path.exists():
            raise _error(
                "binary_missing",
                f"không có {name} trong TIEMCHUNG_PG_BIN={pg_bin}",
                f"{name} not found in TIEMCHUNG_PG_BIN={pg_bin}",
            )
        return path
    found = {
        int(Path(p).parent.parent.name): Path(p)
        for p in glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
        if Path(p).parent.parent.name.isdigit()
    }
    usable = sorted(v for v in found if server_major is None or v >= server_major)
    if server_major in found:
        return found[server_major]
    if usable:
        return found[usable[-1]]
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise _error(
        "binary_missing",
        f"không tìm thấy {name} (phiên bản ≥ {server_major}); cài postgresql-client "
        "hoặc đặt TIEMCHUNG_PG_BIN",
        f"{name} (version ≥ {server_major}) not found; install postgresql-client "
        "or set TIEMCHUNG_PG_BIN",
    )


@dataclass(frozen=True)
class PgTarget:
    """A database as libpq programs take it: a URL without the password, and the password."""

    dsn: str
    password: str | None

    @classmethod
    def from_url(cls, url: str | URL) -> PgTarget:
        parsed = make_url(url) if isinstance(url, str) else url
        # URL.set(password=None) keeps the password: None there means "unchanged"
        bare = parsed._replace(drivername="postgresql", password=None)
        return cls(bare.render_as_string(hide_password=False), parsed.password)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def _run(cmd: list[str], target: PgTarget, what: str) -> None:
    done = subprocess.run(cmd, env=target.env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip()[-2000:]
        raise _error(
            f"{what}_failed",
            f"{what} lỗi (mã {done.returncode}): {tail}",
            f"{what} failed (exit {done.returncode}): {tail}",
        )


def dump(binary: Path, target: PgTarget, out: Path, snapshot: str | None = None) -> None:
    """``pg_dump --format=custom`` of the whole database into ``out``; with ``snapshot`` (an
    exported snapshot id) the dump sees exactly what the caller's open transaction sees."""
    cmd = [str(binary), "--format=custom", "--no-password", f"--file={out}"]
    if snapshot:
        cmd.append(f"--snapshot={snapshot}")
    cmd.append(f"--dbname={target.dsn}")
    _run(cmd, target, "pg_dump")


def restore(binary: Path, target: PgTarget, dump_file: Path) -> None:
    """``pg_restore --clean --if-exists --no-owner`` in one transaction: a failure leaves the
    target as it was."""
    cmd = [
        str(binary),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-acl",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={target.dsn}",
        str(dump_file),
    ]
    _run(cmd, target, "pg_restore")
