"""``keys_status``: what is wrong with a deployment's signing keys, in one list (issue 20
point 6). ``tiemchung keys check`` prints it; the readiness check (health) calls it too: an
unencrypted key or the CSCA key on the server is a warning, a key that cannot be used (no or
a wrong passphrase, a loose file mode, a PKCS#11 key that is not there) a failure. The rules
themselves are custody.py's; this module only looks, so it may import the key store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tiemchung.certificates.custody import (
    PASSPHRASE_VARS,
    KeyCustodyError,
    KeyProblem,
    is_encrypted,
    loose_mode,
    passphrase_of,
    private_key_files,
)
from tiemchung.certificates.hsm import Pkcs11Config
from tiemchung.certificates.keys import KeyStore

if TYPE_CHECKING:
    from tiemchung.config import Settings


def keys_status(settings: Settings) -> list[KeyProblem]:
    """What is wrong with the deployment's signing keys, for ``tiemchung keys check`` and the
    readiness check; empty when all is well (or when no keys were made: the doctor says so)."""
    problems: list[KeyProblem] = []
    try:
        passphrase = passphrase_of(settings)
    except KeyCustodyError as exc:
        return [KeyProblem("fail", str(exc))]
    store = KeyStore.for_settings(settings)
    if not store.folder.exists():
        return problems
    for path in private_key_files(store.folder):
        problem = loose_mode(path)
        if problem:
            problems.append(KeyProblem("fail", problem))
        elif not is_encrypted(path):
            problems.append(
                KeyProblem(
                    "warn",
                    f"{path} is not encrypted at rest: set {PASSPHRASE_VARS} and run "
                    f"`tiemchung keys encrypt` / khoá {path} chưa được mã hoá",
                )
            )
        elif not passphrase:
            problems.append(
                KeyProblem(
                    "fail",
                    f"{path} is encrypted and no passphrase is configured: set "
                    f"{PASSPHRASE_VARS} / chưa đặt mật khẩu cho khoá đã mã hoá {path}",
                )
            )
    if (store.folder / "csca-key.pem").exists():
        problems.append(
            KeyProblem(
                "warn",
                f"the CSCA private key is on this server ({store.folder / 'csca-key.pem'}): "
                "keep it offline (docs/keys.md) / khoá riêng CSCA đang nằm trên máy chủ",
            )
        )
    if store.exists() and not any(p.state == "fail" for p in problems):
        try:  # the current signer loads (decrypts, or is found in the PKCS#11 token)
            _ = store.signer
        except (KeyCustodyError, OSError, RuntimeError, ValueError) as exc:
            where = " (PKCS#11)" if Pkcs11Config.from_settings(settings) else ""
            problems.append(KeyProblem("fail", f"the document signer cannot sign{where}: {exc}"))
    return problems
