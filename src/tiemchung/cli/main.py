"""`tiemchung` command line: one entry point over the same core the API serves."""

from __future__ import annotations

import getpass
import os
import sys
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tiemchung.cli.stats import stats_app
from tiemchung.cli.worklists import worklist_app
from tiemchung.config import Settings, get_settings

app = typer.Typer(
    help="tiemchung — nền tảng dữ liệu tiêm chủng / vaccination data platform", no_args_is_help=True
)
users_app = typer.Typer(help="Users and roles / Người dùng và vai trò", no_args_is_help=True)
register_app = typer.Typer(help="Population register / Sổ dân cư", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(register_app, name="register")
reconcile_app = typer.Typer(
    help="Link dose records to the register / Đối soát mũi tiêm với sổ dân cư",
    invoke_without_command=True,
)
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(worklist_app, name="worklist")
app.add_typer(stats_app, name="stats")
console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]✗[/red] {message}")
    raise typer.Exit(code)


def initialise(settings: Settings) -> dict[str, object]:
    """Create keys, migrate to head and load administrative units; safe to run again."""
    from sqlalchemy import func, select

    from tiemchung.registry.catalog.places import load_admin_units
    from tiemchung.registry.models import AdminUnit
    from tiemchung.store import migrate
    from tiemchung.store.db import make_engine, make_sessionmaker

    settings.token_secret(create=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as s:
            units = s.scalar(select(func.count()).select_from(AdminUnit)) or 0
            if units == 0:
                units = load_admin_units(s)
                s.commit()
        return {"revision": migrate.current_revision(engine), "admin_units": units}
    finally:
        engine.dispose()


@app.command()
def init() -> None:
    """Migrate the database to the current schema and create the token key."""
    settings = get_settings()
    info = initialise(settings)
    console.print(
        f"[green]✓[/green] database at revision {info['revision']}, "
        f"{info['admin_units']} administrative units, keys in {settings.data_dir}/keys"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the web application and the HTTP API."""
    import uvicorn

    from tiemchung import logmask

    settings = get_settings()
    logmask.install(settings.log_level)
    uvicorn.run(
        "tiemchung.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=True,
    )


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="central|province|commune|site|citizen")],
    province: Annotated[str | None, typer.Option(help="province code (province role)")] = None,
    ward: Annotated[str | None, typer.Option(help="ward code (commune role)")] = None,
    site: Annotated[str | None, typer.Option(help="site id (site role)")] = None,
    person: Annotated[str | None, typer.Option(help="register person id (citizen)")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="password; prompted when omitted, or read from TIEMCHUNG_PASSWORD"),
    ] = None,
) -> None:
    """Create a user with a role and the area it is scoped to."""
    from tiemchung.auth.users import create_user
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor, Role

    try:
        role_value = Role(role)
    except ValueError:
        _fail(f"--role must be one of {[r.value for r in Role]}, not '{role}'", 2)
        return
    password = password or os.environ.get("TIEMCHUNG_PASSWORD") or getpass.getpass("Password: ")
    platform = Platform()
    try:
        with platform.sessions() as s:
            user = create_user(
                s,
                Actor.system("cli"),
                username,
                password,
                role_value,
                province_code=province,
                ward_code=ward,
                site_id=site,
                person_id=person,
            )
            s.commit()
            console.print(f"[green]✓[/green] user {user.username} ({user.role}) created")
    except ServiceError as exc:
        _fail(str(exc), 2)
    finally:
        platform.close()


def _read_mapping(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        _fail(f"{path}: cannot read the mapping ({exc})", 2)
    columns = data.get("columns", data)
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        _fail(f'{path}: expected a [columns] table of canonical = "file column" pairs', 2)
    return dict(columns)


def _count_rows(file: Path) -> int | None:
    if file.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(file).metadata.num_rows)
    if file.suffix.lower() in (".csv", ".txt") and file.exists():
        with file.open("rb") as fh:
            return max(sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    return None


@register_app.command("import")
def register_import(
    file: Path,
    map_file: Annotated[Path | None, typer.Option("--map", help="TOML [columns] mapping")] = None,
    rejects: Annotated[Path | None, typer.Option(help="where rejected rows go")] = None,
) -> None:
    """Import a register snapshot (CSV or Parquet); rejected rows are kept with reasons."""
    from tiemchung.core import Platform
    from tiemchung.registry.imports.register import ImportFileError, import_register
    from tiemchung.registry.scope import Actor

    mapping = _read_mapping(map_file)
    if not file.is_file():
        _fail(f"{file}: no such file (không tìm thấy tệp)", 2)
    total = _count_rows(file)
    counter = "{task.completed:,}/{task.total:,} rows" if total else "{task.completed:,} rows"
    platform = Platform()
    try:
        with (
            platform.sessions() as s,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn(counter),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            task = bar.add_task(f"import {file.name}", total=total)
            report = import_register(
                s,
                Actor.system("cli"),
                file,
                mapping=mapping,
                rejects_path=rejects,
                progress=lambda n: bar.advance(task, n),
            )
    except ImportFileError as exc:
        _fail(str(exc), 2)
        return
    finally:
        platform.close()
    console.print(
        f"[green]✓[/green] {report.rows_imported:,} persons imported of "
        f"{report.rows_read:,} rows read"
    )
    if report.rows_rejected:
        console.print(
            f"[yellow]![/yellow] {report.rows_rejected:,} rows rejected "
            f"({report.reasons}); kept in {report.rejects_file}"
        )


@app.command()
def doctor() -> None:
    """Check the database is reachable, migrations are current and keys are present."""
    from sqlalchemy import text

    from tiemchung.store import migrate
    from tiemchung.store.db import make_engine

    settings = get_settings()
    ok = True
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        console.print(f"[green]✓[/green] database reachable ({engine.url.get_backend_name()})")
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current == head:
            console.print(f"[green]✓[/green] migrations current ({head})")
        else:
            ok = False
            console.print(
                f"[red]✗[/red] migrations at {current}, head is {head}: run `tiemchung init`"
            )
    except Exception as exc:
        ok = False
        console.print(f"[red]✗[/red] database unreachable: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    key = settings.secret_key_path
    if key.exists():
        mode = key.stat().st_mode & 0o777
        if mode & 0o077:
            ok = False
            console.print(f"[red]✗[/red] {key} is readable by others (mode {mode:o}); chmod 600")
        else:
            console.print(f"[green]✓[/green] token key present ({key})")
    else:
        ok = False
        console.print(f"[red]✗[/red] token key missing at {key}: run `tiemchung init`")
    from tiemchung.certificates.keys import KeyStore

    store = KeyStore.for_data_dir(settings.data_dir)
    if store.exists():  # a warning, not a failure: a platform may run without certificates
        console.print(f"[green]✓[/green] certificate signing keys present ({store.folder})")
    else:
        console.print(
            f"[yellow]![/yellow] no certificate signing keys in {store.folder}: certificates "
            "cannot be printed; run `tiemchung keys init`",
            soft_wrap=True,
        )
    raise typer.Exit(0 if ok else 1)


@app.command()
def synth(
    people: Annotated[int, typer.Option("--people", help="residents to generate")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same files")] = 2021,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("synth-out"),
    fmt: Annotated[str, typer.Option("--format", help="parquet|csv|xlsx")] = "parquet",
    profile: Annotated[
        Path | None, typer.Option(help="TOML file overriding rates of the default profile")
    ] = None,
    legacy: Annotated[
        bool, typer.Option("--legacy", help="also write per-site legacy .xlsx files")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="processes (default: up to 2); output is the same")
    ] = None,
) -> None:
    """Generate a synthetic population, its vaccination records and the truth about them."""
    from tiemchung.synth import ProfileError, generate, load_profile

    if fmt not in ("parquet", "csv", "xlsx"):
        _fail(f"--format must be parquet, csv or xlsx, not '{fmt}'", 2)
    if people < 1:
        _fail("--people must be at least 1", 2)
    try:
        prof = load_profile(profile)
    except ProfileError as exc:
        _fail(str(exc), 2)
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} cells"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"synth {people:,} people", total=None)
        try:
            summary = generate(
                people,
                seed,
                out,
                fmt=fmt,
                profile=prof,
                legacy=legacy,
                workers=workers,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ValueError as exc:
            _fail(str(exc), 2)
            return
    counts, rates = summary["counts"], summary["rates"]
    console.print(
        f"[green]✓[/green] {counts['register']:,} register persons, {counts['records']:,} "
        f"dose records ({rates['wrong']:.1%} with a wrong field, {rates['never_entered']:.1%} "
        f"of doses never entered, {counts['duplicates']:,} duplicates) in {out}"
    )


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="folder for the demo database")
    ] = None,
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="interface")] = "127.0.0.1",
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="start the server")] = True,
    people: Annotated[
        int, typer.Option(help="residents to generate (a first run in the folder only)")
    ] = 50_000,
) -> None:
    """Create a SQLite database with a synthetic province and certificate signing keys, print
    logins and serve it."""
    import tempfile

    from tiemchung.demo import DEMO_PASSWORD, build_demo

    directory = directory or Path(tempfile.mkdtemp(prefix="tiemchung-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["TIEMCHUNG_DATA_DIR"] = str(directory)
    os.environ["TIEMCHUNG_DATABASE_URL"] = f"sqlite:///{(directory / 'tiemchung.db').resolve()}"
    get_settings.cache_clear()
    settings = get_settings()
    initialise(settings)
    if people < 1:
        _fail("--people must be at least 1", 2)
    summary = build_demo(settings, people=people)
    out = Console()
    again = " (reused: built by an earlier run)" if summary["reused"] else ""
    out.print(f"[bold]tiemchung demo[/bold] — {directory}{again}")
    for key, value in summary["counts"].items():
        out.print(f"  {key}: {value:,}")
    out.print(f"\nLogins (password [bold]{DEMO_PASSWORD}[/bold]):")
    for username, what in summary["users"]:
        out.print(f"  {username:<14} {what}")
    out.print(f"\nKhoá ký chứng nhận / certificate signing keys: {summary['keys']}", soft_wrap=True)
    out.print(  # soft_wrap: one line to copy, however narrow the terminal
        f"  kiểm tra mã QR / verify a QR: TIEMCHUNG_DATA_DIR={directory} "
        "tiemchung verify --image qr.png",
        soft_wrap=True,
    )
    if serve_:
        out.print(f"\nTrang web / web pages: http://{host}:{port}/")
        out.print(f"API docs: http://{host}:{port}/api/v1/docs")
        out.print(f"Danh sách tin cậy / trust list: http://{host}:{port}/api/v1/trust-list")
        sys.stdout.flush()
        serve(host=host, port=port, workers=1)


@reconcile_app.callback()
def reconcile(
    ctx: typer.Context,
    register: Annotated[
        Path | None, typer.Option(help="register snapshot (CSV/Parquet/XLSX)")
    ] = None,
    records: Annotated[Path | None, typer.Option(help="dose records (CSV/Parquet/XLSX)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="output folder")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="TOML \\[columns] mapping")] = None,
    engine: Annotated[str, typer.Option(help="duckdb|spark")] = "duckdb",
    model: Annotated[Path | None, typer.Option(help="reuse a trained model.json")] = None,
    threads: Annotated[int | None, typer.Option(help="threads (default: all cores, max 2)")] = None,
    memory: Annotated[str | None, typer.Option(help="engine memory cap, e.g. 1500MB")] = None,
    resume: Annotated[
        bool, typer.Option(help="resume an interrupted run from its last stage")
    ] = False,
    keep_work: Annotated[bool, typer.Option(help="keep OUT/.work after success")] = False,
    incremental: Annotated[
        bool, typer.Option(help="link only --records (new) against --state's run and model")
    ] = False,
    state: Annotated[Path | None, typer.Option(help="previous run's OUT (--incremental)")] = None,
    register_update: Annotated[
        bool, typer.Option(help="--register is a new snapshot: re-check --state's --records")
    ] = False,
) -> None:
    """Link every dose record to a register person; say what is wrong and what to do."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [
        n
        for n, v in (("--register", register), ("--records", records), ("--out", out))
        if v is None
    ]
    if missing:
        _fail(f"missing {', '.join(missing)}; see tiemchung reconcile --help", 2)
    if engine not in ("duckdb", "spark"):
        _fail(f"--engine must be duckdb or spark, not '{engine}'", 2)
    if register_update:
        from tiemchung.cli.reconcile import register_update as run_update

        return run_update(records, register, out, state, map_file, threads, memory)
    if incremental or state is not None:
        if not (incremental and state is not None):
            _fail("--incremental needs --state PREVIOUS_OUT (and the reverse)", 2)
        from tiemchung.cli.reconcile import incremental as run_incremental

        assert records and register and out and state
        return run_incremental(
            records, register, out, state, map_file=map_file, threads=threads, memory=memory
        )
    from tiemchung.cli.reconcile import run_staged
    from tiemchung.reconcile import Options, run

    opts = Options(
        records,
        register,
        out,
        map_file,
        engine,
        model,
        threads,
        memory,  # type: ignore[arg-type]
        resume=resume,
        keep_work=keep_work,
    )
    summary = run_staged("reconcile", "reconcile", run.reconcile, opts=opts)
    o = summary["overall"]
    console.print(
        f"[green]✓[/green] {o['records']:,} records: {o['verified']:,} verified, "
        f"{o['corrected']:,} corrected, {o['duplicate']:,} duplicates, {o['review']:,} to "
        f"review, {o['not_found']:,} not found — {out}/links.csv, report.html"
    )


def _reconcile_apply() -> None:
    from tiemchung.cli.reconcile import apply_command

    reconcile_app.command("apply")(apply_command)


_reconcile_apply()


@reconcile_app.command("score")
def reconcile_score(
    out: Annotated[Path, typer.Argument(help="output folder of a reconcile run")],
    truth: Annotated[Path, typer.Option(help="truth file (record_id, person_id, ...)")],
) -> None:
    """Score a run against a truth file: link F1, automatic-action precision, review share."""
    import json

    from tiemchung.reconcile import ReconcileInputError, score

    try:
        result = score(truth, out)
    except ReconcileInputError as exc:
        _fail(str(exc), 2)
        return
    typer.echo(json.dumps(result, indent=2))


# -- certificates (issue 7) -------------------------------------------------------------------
keys_app = typer.Typer(
    help="Certificate signing keys / Khoá ký chứng nhận (CSCA, DSC)", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


def _keystore():  # type: ignore[no-untyped-def]
    from tiemchung.certificates.keys import KeyStore

    return KeyStore.for_data_dir(get_settings().data_dir)


@keys_app.command("init")
def keys_init() -> None:
    """Create the country signing CA (self-signed) and a first document signer."""
    store = _keystore()
    try:
        store.init()
    except FileExistsError as exc:
        _fail(str(exc), 2)
    console.print(
        f"[green]✓[/green] CSCA and DSC created in {store.folder} (private keys 0600), "
        f"kid {store.trust_list()['dsc'][-1]['kid']}"
    )


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Create a new document signer; the old ones stay in the trust list."""
    from tiemchung.certificates.keys import KeysMissingError

    store = _keystore()
    try:
        store.rotate()
        kid = store.trust_list()["dsc"][-1]["kid"]
    except KeysMissingError as exc:
        _fail(str(exc), 2)
        return
    console.print(f"[green]✓[/green] new DSC, kid {kid}")


@keys_app.command("trust-list")
def keys_trust_list() -> None:
    """Print the trust list (JSON: each DSC as base64 DER with its kid, and the CSCA)."""
    import json

    from tiemchung.certificates.keys import KeysMissingError

    try:
        typer.echo(json.dumps(_keystore().trust_list(), indent=2))
    except KeysMissingError as exc:
        _fail(str(exc), 2)


@app.command()
def certify(
    person: Annotated[str | None, typer.Option(help="register person id")] = None,
    pdf: Annotated[Path | None, typer.Option(help="also write the PDF here")] = None,
    ward: Annotated[str | None, typer.Option(help="batch: every person of a ward")] = None,
    province: Annotated[str | None, typer.Option(help="batch: every person of a province")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="batch: output folder")] = None,
    merged: Annotated[bool, typer.Option(help="batch: one merged PDF")] = False,
) -> None:
    """Issue a vaccination certificate (prints the HC1: text), or a batch of PDFs."""
    from tiemchung.certificates import pdf as pdf_mod
    from tiemchung.certificates.service import issue_certificate, persons_to_certify
    from tiemchung.core import Platform
    from tiemchung.localtime import format_local
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    if bool(person) == bool(ward or province):
        _fail("give --person, or --ward/--province with --out", 2)
    if (ward or province) and out is None:
        _fail("--out DIR is required for a batch", 2)
    keys = _keystore()
    actor = Actor.system("cli")
    platform = Platform().start()
    zone_name = platform.settings.timezone
    try:
        if person:
            try:
                issued = platform.writer.run(
                    lambda s: issue_certificate(s, actor, person, keys=keys)
                )
            except ServiceError as exc:
                _fail(str(exc), 2)
                return
            if pdf is not None:
                pdf_mod.render([issued], pdf, zone_name)
                console.print(f"[green]✓[/green] PDF written to {pdf}")
            for uvci in issued.revoked:
                console.print(f"[yellow]![/yellow] revoked {uvci} (replaced)")
            until = format_local(issued.expires_at, zone_name, "%d/%m/%Y")
            console.print(f"[green]✓[/green] {issued.uvci}, hiệu lực đến / valid until {until}")
            typer.echo(issued.hc1)
            return
        assert out is not None
        out.mkdir(parents=True, exist_ok=True)
        with platform.sessions() as s:
            ids = persons_to_certify(s, ward_code=ward, province_code=province)
        if not ids:
            _fail("no person with a verified dose there (không có ai có mũi đã xác minh)", 1)
        done, refused = [], 0
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,}"),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
            ProcessPoolExecutor(os.cpu_count() or 1) as pool,  # rendering is CPU-bound
        ):
            task = bar.add_task("certificates", total=len(ids))
            for start in range(0, len(ids), 200):
                chunk = ids[start : start + 200]

                def job(s, chunk=chunk):  # type: ignore[no-untyped-def]
                    results = []
                    for pid in chunk:
                        try:
                            with s.begin_nested():
                                results.append(issue_certificate(s, actor, pid, keys=keys))
                        except ServiceError:
                            results.append(None)
                    return results

                batch = [i for i in platform.writer.run(job, timeout=600) if i is not None]
                refused += len(chunk) - len(batch)
                if merged:
                    done.extend(batch)
                else:
                    done.extend(
                        p.stem for p in pdf_mod.render_files(batch, out, pool, tz=zone_name)
                    )
                bar.advance(task, len(chunk))
        if merged:
            name = f"certificates-{ward or province}.pdf"
            pdf_mod.render(done, out / name, zone_name)
            console.print(f"[green]✓[/green] {len(done):,} certificates in {out / name}")
        else:
            console.print(f"[green]✓[/green] {len(done):,} PDFs in {out}")
        if refused:
            console.print(
                f"[yellow]![/yellow] {refused:,} persons refused (see `certify --person`)"
            )
    finally:
        platform.close()


@app.command("verify")
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

    from tiemchung.certificates.keys import KeysMissingError, load_certificate
    from tiemchung.certificates.verify import Trust, verify, verify_image

    if (text is None) == (image is None):
        _fail("give the HC1: text or --image FILE", 2)
    when = None
    if at:
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"--at must be an ISO date-time, not '{at}'", 2)
        assert when is not None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    revoked = None
    if cert is not None:
        try:
            trusted = Trust([load_certificate(cert.read_bytes())])
        except (OSError, ValueError) as exc:
            _fail(f"cannot read the certificate {cert}: {exc}", 2)
            return
    else:
        try:
            trusted = Trust(_keystore().dsc_certificates())
        except KeysMissingError:
            trusted = Trust()
        from tiemchung.certificates.service import revoked_uvcis
        from tiemchung.core import Platform

        platform = Platform()
        try:
            with platform.sessions() as s:
                revoked = revoked_uvcis(s)
        except Exception:  # no database here: the revocation step is then not checked
            revoked = None
        finally:
            platform.close()
    if image is not None:
        try:
            data = image.read_bytes()
        except OSError as exc:
            _fail(f"cannot read {image}: {exc}", 2)
            return
        verdict = verify_image(data, trusted, when, revoked=revoked)
    else:
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


@app.command()
def revoke(
    uvci: Annotated[str, typer.Argument(help="the certificate's UVCI")],
    reason: Annotated[str, typer.Option(help="why it is revoked")],
) -> None:
    """Revoke a certificate by UVCI; it joins the published revocation list."""
    from tiemchung.certificates.service import revoke_certificate
    from tiemchung.core import Platform
    from tiemchung.registry.errors import ServiceError
    from tiemchung.registry.scope import Actor

    platform = Platform().start()
    try:
        platform.writer.run(lambda s: revoke_certificate(s, Actor.system("cli"), uvci, reason).uvci)
        console.print(f"[green]✓[/green] {uvci} revoked")
    except ServiceError as exc:
        _fail(str(exc), 2)
    finally:
        platform.close()


if __name__ == "__main__":
    app()
