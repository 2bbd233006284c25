"""Certificates from the command line (issue 7): `keys init|rotate|trust-list`, `certify` one
person or a whole ward or province, `verify` any country's certificate, `revoke` one of ours."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiemchung.cli import keycustody
from tiemchung.cli.common import ProgressOnDemand, console, fail
from tiemchung.config import get_settings

if TYPE_CHECKING:
    from tiemchung.certificates.keys import KeyStore
    from tiemchung.certificates.verify import Trust

keys_app = typer.Typer(
    help="Certificate signing keys / Khoá ký chứng nhận (CSCA, DSC)", no_args_is_help=True
)


def _keystore() -> KeyStore:
    from tiemchung.certificates.keys import KeyStore

    return KeyStore.for_settings(get_settings())


@keys_app.command("init")
def keys_init(
    csca_offline: Annotated[
        Path | None,
        typer.Option(
            help="on the offline machine: make only the CSCA, in this folder / trên máy "
            "ngoại tuyến: chỉ tạo CSCA trong thư mục này"
        ),
    ] = None,
) -> None:
    """Create the country signing CA (self-signed) and a first document signer / Tạo CSCA và
    DSC đầu tiên (--csca-offline: only the CSCA, docs/keys.md)."""
    from tiemchung.certificates.ceremony import CeremonyError, init_offline_csca
    from tiemchung.certificates.custody import KeyCustodyError, passphrase_of

    try:
        if csca_offline is not None:
            init_offline_csca(csca_offline, passphrase_of(get_settings()))
            console.print(
                f"[green]✓[/green] CSCA in {csca_offline} (csca.pem, csca-key.pem 0600); "
                "keep this folder offline / giữ thư mục này ngoại tuyến"
            )
            return
        store = _keystore()
        store.init()
    except (FileExistsError, CeremonyError, KeyCustodyError) as exc:
        fail(str(exc), 2)
    console.print(
        f"[green]✓[/green] CSCA and DSC created in {store.folder} (private keys 0600), "
        f"kid {store.trust_list()['dsc'][-1]['kid']}"
    )


keys_app.command("check")(keycustody.keys_check)
keys_app.command("encrypt")(keycustody.keys_encrypt)
keys_app.command("request-signer")(keycustody.keys_request_signer)
keys_app.command("sign-signer")(keycustody.keys_sign_signer)
keys_app.command("install-signer")(keycustody.keys_install_signer)
keys_app.command("hsm-check")(keycustody.keys_hsm_check)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Create a new document signer; the old ones stay in the trust list."""
    from tiemchung.certificates.custody import KeyCustodyError
    from tiemchung.certificates.keys import KeysMissingError

    store = _keystore()
    try:
        store.rotate()
        kid = store.trust_list()["dsc"][-1]["kid"]
    except (KeysMissingError, KeyCustodyError) as exc:
        fail(str(exc), 2)
    console.print(f"[green]✓[/green] new DSC, kid {kid}")


@keys_app.command("trust-list")
def keys_trust_list() -> None:
    """Print the trust list (JSON: each DSC as base64 DER with its kid, and the CSCA)."""
    import json

    from tiemchung.certificates.keys import KeysMissingError

    try:
        typer.echo(json.dumps(_keystore().trust_list(), indent=2))
    except KeysMissingError as exc:
        fail(str(exc), 2)


def certify(
    person: Annotated[str | None, typer.Option(help="register person id")] = None,
    pdf: Annotated[Path | None, typer.Option(help="also write the PDF here")] = None,
    ward: Annotated[str | None, typer.Option(help="batch: every person of a ward")] = None,
    province: Annotated[str | None, typer.Option(help="batch: every person of a province")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="batch: output folder")] = None,
    merged: Annotated[bool, typer.Option(help="batch: one merged PDF")] = False,
) -> None:
    """Issue a vaccination certificate (prints the HC1: text), or a batch of PDFs."""
    if bool(person) == bool(ward or province):
        fail("give --person, or --ward/--province with --out", 2)
    if person:
        _certify_one(person, pdf)
        return
    if out is None:
        fail("--out DIR is required for a batch", 2)
    _certify_area(out, ward=ward, province=province, merged=merged)


def _certify_one(person: str, pdf: Path | None) -> None:
    from tiemchung.certificates import pdf as pdf_mod
    from tiemchung.certificates.service import issue_certificate
    from tiemchung.core import Platform
    from tiemchung.localtime import format_local
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    actor = Actor.system("cli")
    with Platform() as platform:
        keys, zone_name = platform.keys, platform.settings.timezone
        try:
            issued = platform.writer.run(lambda s: issue_certificate(s, actor, person, keys=keys))
        except ServiceError as exc:
            fail(str(exc), 2)
        if pdf is not None:
            pdf_mod.render([issued], pdf, zone_name)
            console.print(f"[green]✓[/green] PDF written to {pdf}")
    for uvci in issued.revoked:
        console.print(f"[yellow]![/yellow] revoked {uvci} (replaced)")
    until = format_local(issued.expires_at, zone_name, "%d/%m/%Y")
    console.print(f"[green]✓[/green] {issued.uvci}, hiệu lực đến / valid until {until}")
    typer.echo(issued.hc1)


def _certify_area(out: Path, *, ward: str | None, province: str | None, merged: bool) -> None:
    from tiemchung.certificates.batch import certify_area
    from tiemchung.core import Platform
    from tiemchung.registry.scope import Actor

    with Platform() as platform, ProgressOnDemand("certificates") as progress:
        report = certify_area(
            platform.writer,
            platform.sessions,
            Actor.system("cli"),
            platform.keys,
            out,
            ward_code=ward,
            province_code=province,
            merged=merged,
            tz=platform.settings.timezone,
            progress=progress,
        )
    if not report.persons:
        fail("no person with a verified dose there (không có ai có mũi đã xác minh)", 1)
    if merged:
        console.print(f"[green]✓[/green] {report.issued:,} certificates in {report.files[0]}")
    else:
        console.print(f"[green]✓[/green] {report.issued:,} PDFs in {out}")
    if report.refused:
        console.print(
            f"[yellow]![/yellow] {report.refused:,} persons refused (see `certify --person`)"
        )


def _local_trust() -> tuple[Trust, set[str] | None]:
    """This deployment's signers and revocation list; the list is ``None`` (the step is not
    checked) when there is no database to read it from."""
    from tiemchung.certificates.keys import KeysMissingError
    from tiemchung.certificates.service import revoked_uvcis
    from tiemchung.certificates.verify import Trust
    from tiemchung.core import Platform

    try:
        trusted = Trust(_keystore().dsc_certificates())
    except KeysMissingError:
        trusted = Trust()
    with Platform() as platform:
        try:
            with platform.sessions() as s:
                return trusted, revoked_uvcis(s)
        except Exception:  # no database here: the revocation step is then not checked
            return trusted, None


def verify_cmd(
    text: Annotated[str | None, typer.Argument(help="the HC1: text")] = None,
    image: Annotated[Path | None, typer.Option(help="a photo or scan of the QR code")] = None,
    cert: Annotated[Path | None, typer.Option(help="trust this signer (PEM or DER)")] = None,
    at: Annotated[str | None, typer.Option(help="check at this ISO date-time")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
) -> None:
    """Verify an EU DCC (ours or any country's); exit 0 when valid, 1 when not."""
    import json
    from datetime import UTC, datetime

    from tiemchung.certificates.keys import load_certificate
    from tiemchung.certificates.verify import Trust, verify, verify_image

    if (text is None) == (image is None):
        fail("give the HC1: text or --image FILE", 2)
    when = None
    if at:
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--at must be an ISO date-time, not '{at}'", 2)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    revoked = None
    if cert is not None:
        try:
            trusted = Trust([load_certificate(cert.read_bytes())])
        except (OSError, ValueError) as exc:
            fail(f"cannot read the certificate {cert}: {exc}", 2)
    else:
        trusted, revoked = _local_trust()
    if image is not None:
        try:
            data = image.read_bytes()
        except OSError as exc:
            fail(f"cannot read {image}: {exc}", 2)
        verdict = verify_image(data, trusted, when, revoked=revoked)
    else:
        assert text is not None
        verdict = verify(text, trusted, when, revoked=revoked)
    if as_json:
        typer.echo(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
    else:
        marks = {"pass": "[green]✓[/green]", "fail": "[red]✗[/red]", "not_checked": "·"}
        for step, state in verdict.steps.items():
            reason = verdict.reasons.get(step)
            note = f" — {reason['vi']} / {reason['en']}" if reason else ""
            console.print(f"{marks[state]} {step}: {state}{note}")
        if verdict.dcc:
            nam = verdict.dcc.get("nam", {})
            console.print(f"  {nam.get('fn', '')} {nam.get('gn', '')}  ·  {verdict.uvci}")
        console.print(
            "[green]VALID / HỢP LỆ[/green]"
            if verdict.valid
            else "[red]INVALID / KHÔNG HỢP LỆ[/red]"
        )
    raise typer.Exit(0 if verdict.valid else 1)


def revoke(
    uvci: Annotated[str, typer.Argument(help="the certificate's UVCI")],
    reason: Annotated[str, typer.Option(help="why it is revoked")],
) -> None:
    """Revoke a certificate by UVCI; it joins the published revocation list."""
    from tiemchung.certificates.service import revoke_certificate
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    with Platform() as platform:
        try:
            platform.writer.run(
                lambda s: revoke_certificate(s, Actor.system("cli"), uvci, reason).uvci
            )
        except ServiceError as exc:
            fail(str(exc), 2)
    console.print(f"[green]✓[/green] {uvci} revoked")
