"""Custody of the signing keys' private halves (issue 20 point 6; docs/keys.md).

Private keys are written as PKCS#8 PEM encrypted with the deployment's passphrase
(``BestAvailableEncryption``) when one is configured: ``TIEMCHUNG_KEY_PASSPHRASE_FILE`` (the
first line of a file, preferred: the passphrase is then in no process's environment) or
``TIEMCHUNG_KEY_PASSPHRASE``. A key written before the passphrase existed still loads, so an
existing installation keeps signing, but ``keys_status`` (keycheck.py: ``tiemchung keys
check``, the readiness check) warns until ``tiemchung keys encrypt`` has converted it. Every
private key file is mode 0600: one readable by the group or the world is refused, as ssh does.
This module is the one home of those rules; ``keys.py`` writes and reads through it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

if TYPE_CHECKING:
    from tiemchung.config import Settings

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PASSPHRASE_VARS = "TIEMCHUNG_KEY_PASSPHRASE_FILE (or TIEMCHUNG_KEY_PASSPHRASE)"
_ENCRYPTED = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


class KeyCustodyError(RuntimeError):
    """A private key that cannot be used as it is: no or a wrong passphrase, a loose file
    mode. The message says which file, why and what to do, in Vietnamese and English."""


@dataclass(frozen=True)
class KeyProblem:
    """One finding about the keys: ``warn`` keeps the platform running (an unencrypted key of
    an older installation), ``fail`` means certificates cannot be signed."""

    state: Literal["warn", "fail"]
    message: str


def passphrase_of(settings: Settings) -> bytes | None:
    """The configured passphrase: the file's first line if a file is named, else the
    variable, else None (keys are then written unencrypted, and reported)."""
    if settings.key_passphrase_file is not None:
        path = Path(settings.key_passphrase_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise KeyCustodyError(
                f"cannot read the key passphrase file {path} (TIEMCHUNG_KEY_PASSPHRASE_FILE): "
                f"{exc.strerror} / không đọc được tệp mật khẩu khoá {path}"
            ) from exc
        first = lines[0].strip() if lines else ""
        if not first:
            raise KeyCustodyError(
                f"the key passphrase file {path} (TIEMCHUNG_KEY_PASSPHRASE_FILE) is empty / "
                f"tệp mật khẩu khoá {path} trống"
            )
        return first.encode("utf-8")
    if settings.key_passphrase is not None and settings.key_passphrase.get_secret_value():
        return settings.key_passphrase.get_secret_value().encode("utf-8")
    return None


def _pem(key: PrivateKey, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write_private(path: Path, key: PrivateKey, passphrase: bytes | None) -> None:
    """A new private key file, created 0600 (never briefly readable by others) and never
    over an existing one: a key is made once."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_pem(key, passphrase))


def replace_private(path: Path, key: PrivateKey, passphrase: bytes | None) -> None:
    """Rewrite a key file atomically: a 0600 temporary beside it, flushed, then renamed over
    it, so a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_pem(key, passphrase))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def loose_mode(path: Path) -> str | None:
    """Why the file's mode is too open (group or world may read or write it), or None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return (
            f"{path} is mode {mode:04o}: a private key must be 0600; run `chmod 600 {path}` "
            f"/ tệp khoá riêng {path} có quyền {mode:04o}, phải là 0600"
        )
    return None


def is_encrypted(path: Path) -> bool:
    return path.read_bytes().lstrip().startswith(_ENCRYPTED)


def load_private(path: Path, passphrase: bytes | None) -> PrivateKey:
    """The private key in ``path``; a clear error when it cannot be used (why, what to do)."""
    problem = loose_mode(path)
    if problem:
        raise KeyCustodyError(problem)
    data = path.read_bytes()
    encrypted = data.lstrip().startswith(_ENCRYPTED)
    if encrypted and not passphrase:
        raise KeyCustodyError(
            f"{path} is encrypted and no passphrase is configured: set {PASSPHRASE_VARS} / "
            f"khoá {path} đã mã hoá mà chưa có mật khẩu: hãy đặt {PASSPHRASE_VARS}"
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except ValueError as exc:
        raise KeyCustodyError(
            f"cannot decrypt {path}: wrong passphrase in {PASSPHRASE_VARS}? / không giải mã "
            f"được khoá {path}: mật khẩu trong {PASSPHRASE_VARS} sai?"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyCustodyError(f"{path} is not an EC or RSA key / {path} không phải khoá EC/RSA")
    return key


def private_key_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*-key.pem"))


def encrypt_keys(folder: Path, passphrase: bytes) -> list[Path]:
    """Encrypt every unencrypted private key of ``folder`` in place (``keys encrypt``); the
    keys stay the same keys (same certificates, same kid). Returns the files converted."""
    done = []
    for path in private_key_files(folder):
        if is_encrypted(path):
            continue
        key = load_private(path, None)
        replace_private(path, key, passphrase)
        done.append(path)
    return done
