"""`tiemchung keys check|encrypt|request-signer|sign-signer|install-signer|hsm-check`: key
custody from the command line (issue 20 point 6; the work is certificates/custody.py,
ceremony.py and hsm.py; docs/keys.md walks through them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiemchung.cli.common import console, fail
from tiemchung.config import get_settings


def keys_check() -> None:
    """Check the signing keys: encrypted at rest, mode 0600, the signer loads / Kiểm tra khoá
    ký: đã mã hoá, quyền 0600, khoá ký nạp được. Exit 1 on a failure, 0 on warnings only."""
    from tiemchung.certificates.keycheck import keys_status

    problems = keys_status(get_settings())
    for p in problems:
        mark = "[red]✗[/red]" if p.state == "fail" else "[yellow]![/yellow]"
        console.print(f"{mark} {p.message}", soft_wrap=True)
    if not problems:
        console.print("[green]✓[/green] signing keys in good custody / khoá ký được giữ an toàn")
    raise typer.Exit(1 if any(p.state == "fail" for p in problems) else 0)


def keys_encrypt() -> None:
    """Encrypt existing private keys in place with the configured passphrase / Mã hoá các
    khoá riêng hiện có bằng mật khẩu đã cấu hình (TIEMCHUNG_KEY_PASSPHRASE_FILE)."""
    from tiemchung.certificates.custody import (
        PASSPHRASE_VARS,
        KeyCustodyError,
        encrypt_keys,
        passphrase_of,
    )
    from tiemchung.certificates.keys import KeyStore

    settings = get_settings()
    try:
        passphrase = passphrase_of(settings)
        if not passphrase:
            fail(f"set {PASSPHRASE_VARS} first / hãy đặt {PASSPHRASE_VARS} trước", 2)
        done = encrypt_keys(KeyStore.for_settings(settings).folder, passphrase)
    except KeyCustodyError as exc:
        fail(str(exc), 2)
    for path in done:
        console.print(f"[green]✓[/green] {path} encrypted / đã mã hoá")
    if not done:
        console.print("nothing to encrypt / không có khoá nào cần mã hoá")


def keys_request_signer(
    kinds: Annotated[
        str,
        typer.Option(
            help="certificate kinds it may sign: v (vaccination/tiêm chủng), t (test/xét "
            "nghiệm), r (recovery/khỏi bệnh)"
        ),
    ] = "vtr",
    out: Annotated[Path | None, typer.Option(help="also write the CSR here / ghi CSR ra")] = None,
) -> None:
    """On the server: a new document signer key and its CSR for the offline CSCA / Trên máy
    chủ: tạo khoá DSC mới và CSR gửi tới CSCA ngoại tuyến."""
    from tiemchung.certificates.ceremony import CeremonyError, request_signer
    from tiemchung.certificates.custody import KeyCustodyError
    from tiemchung.certificates.keys import KeyStore

    try:
        path, pem = request_signer(KeyStore.for_settings(get_settings()), kinds)
    except (CeremonyError, KeyCustodyError, RuntimeError) as exc:
        fail(str(exc), 2)
    if out is not None:
        out.write_bytes(pem)
    console.print(f"[green]✓[/green] CSR in {path}{f' and {out}' if out else ''}")
    typer.echo(pem.decode("ascii"), nl=False)


def keys_sign_signer(
    csr: Annotated[Path, typer.Argument(help="the CSR from request-signer / CSR cần ký")],
    csca_dir: Annotated[
        Path, typer.Option(help="the offline CSCA folder / thư mục CSCA ngoại tuyến")
    ],
    out: Annotated[
        Path | None, typer.Option(help="certificate file (default: CSR name .pem)")
    ] = None,
) -> None:
    """On the offline machine: sign a document signer's CSR with the CSCA / Trên máy ngoại
    tuyến: ký CSR của DSC bằng CSCA."""
    from cryptography.hazmat.primitives import serialization

    from tiemchung.certificates.ceremony import CeremonyError, sign_signer
    from tiemchung.certificates.custody import KeyCustodyError, passphrase_of

    try:
        cert = sign_signer(csca_dir, csr.read_bytes(), passphrase_of(get_settings()))
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror} / không đọc được {exc.filename}", 2)
    except (CeremonyError, KeyCustodyError) as exc:
        fail(str(exc), 2)
    target = out or csr.with_suffix(".pem")
    target.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    console.print(
        f"[green]✓[/green] DSC certificate in {target}; CSCA certificate in {csca_dir / 'csca.pem'}"
    )


def keys_install_signer(
    cert: Annotated[Path, typer.Argument(help="the signed DSC certificate / chứng chỉ DSC")],
    csca: Annotated[
        Path | None,
        typer.Option(help="the CSCA certificate, the first time / chứng chỉ CSCA (lần đầu)"),
    ] = None,
) -> None:
    """On the server: check a signed DSC certificate and make it the signer / Trên máy chủ:
    kiểm tra chứng chỉ DSC đã ký và dùng nó để ký."""
    from tiemchung.certificates.ceremony import CeremonyError, install_signer
    from tiemchung.certificates.custody import KeyCustodyError
    from tiemchung.certificates.keys import KeyStore

    try:
        stem = install_signer(
            KeyStore.for_settings(get_settings()),
            cert.read_bytes(),
            csca.read_bytes() if csca else None,
        )
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror} / không đọc được {exc.filename}", 2)
    except (CeremonyError, KeyCustodyError, RuntimeError, ValueError) as exc:
        fail(str(exc), 2)
    console.print(f"[green]✓[/green] {stem} is the document signer now / là DSC hiện hành")


def keys_hsm_check() -> None:
    """Show the PKCS#11 module, its tokens and whether the key signs / Kiểm tra HSM: mô-đun,
    token và khoá ký."""
    from tiemchung.certificates.hsm import HsmError, Pkcs11Config, hsm_check

    config = Pkcs11Config.from_settings(get_settings())
    if config is None:
        fail("TIEMCHUNG_PKCS11_MODULE is not set / chưa đặt TIEMCHUNG_PKCS11_MODULE", 2)
    try:
        for line in hsm_check(config):
            typer.echo(line)
    except HsmError as exc:
        fail(str(exc), 1)
