"""The backup archive: one tar file, a ``manifest.json`` and the members it vouches for.

Layout (format 1)::

    manifest.json       format, versions, alembic revision, database kind, created at,
                        row counts, and the size and sha256 of every other member
    database.sqlite     the SQLite file (online backup API), or
    database.pgdump     ``pg_dump --format=custom``
    keys.enc            the ``keys/`` folder as a tar, encrypted (absent with ``--no-keys``)

Why a tar and a manifest: one file to copy off the machine, which any operator can list with
``tar tvf``; the checksums let a restore refuse a corrupted or truncated archive before it
changes anything. The keys are encrypted with AES-256-GCM under a key derived from a
passphrase by scrypt (n=2^15, r=8, p=1): the archive may sit on a shared backup disk, the
signing keys must not be readable there, and GCM's tag refuses a wrong passphrase or a changed
byte. The manifest itself is not signed: the checksums catch accidents; a forger who rewrites
member and manifest together is caught only for ``keys.enc`` (GCM).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import tarfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tiemchung.registry.errors import FieldProblem, ServiceError

FORMAT = 1
MANIFEST = "manifest.json"
KEYS_MEMBER = "keys.enc"
DB_MEMBERS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
_MAGIC = b"TCKEYS1\n"
_SCRYPT_N = 2**15


class BackupError(ServiceError):
    """An archive that cannot be written or trusted; names the member and what is wrong."""


def backup_error(field: str, rule: str, vi: str, en: str) -> BackupError:
    return BackupError(
        422,
        "Backup or restore refused / Sao lưu hoặc khôi phục bị từ chối",
        [FieldProblem(field, rule, vi, en)],
    )


# -- the keys, encrypted ---------------------------------------------------------------------
def _derive(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase)


def encrypt_folder(folder: Path, passphrase: bytes) -> bytes:
    """The folder's files (modes kept) as a tar, sealed with AES-GCM under scrypt(passphrase)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        tar.add(folder, arcname="keys")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, raw.getvalue(), _MAGIC)
    return _MAGIC + salt + nonce + sealed


def decrypt_folder(blob: bytes, passphrase: bytes, into: Path) -> list[str]:
    """Open ``encrypt_folder``'s blob into ``into/keys``; the files' names, relative."""
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 28:
        raise backup_error(
            KEYS_MEMBER,
            "not_encrypted_keys",
            "keys.enc không phải khoá đã mã hoá của tiemchung",
            "keys.enc is not tiemchung's encrypted keys",
        )
    body = blob[len(_MAGIC) :]
    salt, nonce, sealed = body[:16], body[16:28], body[28:]
    try:
        raw = AESGCM(_derive(passphrase, salt)).decrypt(nonce, sealed, _MAGIC)
    except InvalidTag:
        raise backup_error(
            KEYS_MEMBER,
            "wrong_passphrase",
            "không mở được khoá: sai mật khẩu sao lưu, hoặc keys.enc đã bị sửa",
            "cannot open the keys: wrong backup passphrase, or keys.enc was changed",
        ) from None
    names: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r") as tar:
        for m in tar.getmembers():
            if (m.name != "keys" and not m.name.startswith("keys/")) or ".." in m.name.split("/"):
                continue  # only what encrypt_folder wrote: nothing outside keys/
            target = into / m.name
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True, mode=0o700)
            elif m.isfile():
                src = tar.extractfile(m)
                assert src is not None
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, m.mode & 0o700)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(src.read())
                names.append(m.name.removeprefix("keys/"))
    return names


# -- writing and reading the archive ---------------------------------------------------------
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_archive(out: Path, manifest: dict[str, Any], members: dict[str, Path]) -> dict[str, Any]:
    """Write the tar at a temporary name beside ``out``, fsync it, then rename: a killed
    backup leaves ``.<name>.partial-<pid>``, never a file named like a whole archive. Returns
    the manifest as written (with its ``members``)."""
    manifest = dict(manifest)
    manifest["members"] = {
        name: {"sha256": sha256_file(path), "size": path.stat().st_size}
        for name, path in members.items()
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            with tarfile.open(fileobj=fh, mode="w") as tar:
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(body), 0o600
                tar.addfile(info, io.BytesIO(body))
                for name, path in members.items():
                    tar.add(path, arcname=name, recursive=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def read_archive(archive: Path, into: Path) -> dict[str, Any]:
    """Unpack ``archive`` into ``into`` and check it whole: the manifest's format, every
    member present with its size and sha256, nothing else. Returns the manifest; raises a
    :class:`BackupError` naming the member otherwise (nothing outside ``into`` is touched)."""
    if not archive.is_file():
        raise backup_error("archive", "missing", f"không có tệp {archive}", f"no file {archive}")
    try:
        with tarfile.open(archive, mode="r:") as tar:
            manifest: dict[str, Any] | None = None
            seen: set[str] = set()
            for m in tar:
                if m.name == MANIFEST and m.isfile():
                    src = tar.extractfile(m)
                    assert src is not None
                    manifest = json.loads(src.read())
                    continue
                if (
                    "/" in m.name
                    or not m.isfile()
                    or m.name not in (KEYS_MEMBER, *DB_MEMBERS.values())
                ):
                    raise backup_error(
                        m.name,
                        "unexpected_member",
                        f"thành phần lạ trong bản sao lưu: {m.name}",
                        f"unexpected member in the archive: {m.name}",
                    )
                src = tar.extractfile(m)
                assert src is not None
                with (into / m.name).open("wb") as fh:
                    while chunk := src.read(1 << 20):
                        fh.write(chunk)
                seen.add(m.name)
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError) as exc:
        raise backup_error(
            "archive",
            "unreadable",
            f"bản sao lưu hỏng hoặc bị cắt cụt ({exc})",
            f"the archive is corrupted or truncated ({exc})",
        ) from None
    if manifest is None:
        raise backup_error(MANIFEST, "missing", "thiếu manifest.json", "manifest.json is missing")
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if fmt != FORMAT:
        raise backup_error(
            MANIFEST,
            "format",
            f"định dạng {fmt!r} không hỗ trợ (cần {FORMAT})",
            f"format {fmt!r} not supported (need {FORMAT})",
        )
    listed = manifest.get("members")
    if not isinstance(listed, dict) or not all(isinstance(v, dict) for v in listed.values()):
        raise backup_error(
            MANIFEST,
            "members",
            "manifest.json không liệt kê các thành phần",
            "manifest.json does not list the members",
        )
    for name, want in listed.items():
        path = into / name
        if name not in seen:
            raise backup_error(
                name,
                "missing",
                f"thiếu {name} trong bản sao lưu",
                f"{name} is missing from the archive",
            )
        if path.stat().st_size != want.get("size") or sha256_file(path) != want.get("sha256"):
            raise backup_error(
                name,
                "checksum",
                f"{name} không khớp tổng kiểm sha256 trong manifest: tệp hỏng hoặc bị sửa",
                f"{name} does not match its sha256 in the manifest: corrupted or changed",
            )
    for name in seen - set(listed):
        raise backup_error(
            name,
            "unlisted",
            f"{name} không có trong manifest",
            f"{name} is not listed in the manifest",
        )
    return manifest
