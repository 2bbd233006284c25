"""`tiemchung` command line: one entry point over the same core the API serves.

This module only assembles the Typer app; each command group lives in its own module of
:mod:`tiemchung.cli` and calls the same service functions the API and the web pages call.
Commands and groups are added in the order ``tiemchung --help`` lists them.
"""

from __future__ import annotations

import typer

from tiemchung.cli import (
    aefi,
    backup,
    certify,
    orgs,
    reconcile,
    register_recheck,
    serve,
    sessions,
    setup,
    stock,
    synth,
)
from tiemchung.cli.backlog import backlog_app
from tiemchung.cli.changes import changes_app
from tiemchung.cli.clients import clients_app
from tiemchung.cli.export import export_app
from tiemchung.cli.invitations import invitations_app, reminders_app
from tiemchung.cli.messages import messages_app, worker
from tiemchung.cli.register import register_app
from tiemchung.cli.stats import stats_app
from tiemchung.cli.users import users_app
from tiemchung.cli.webhooks import webhooks_app
from tiemchung.cli.worklists import worklist_app

app = typer.Typer(
    help="tiemchung — nền tảng dữ liệu tiêm chủng / vaccination data platform", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")
app.add_typer(stock.sites_app, name="sites")
app.add_typer(stock.lots_app, name="lots")
app.add_typer(stock.products_app, name="products")
app.add_typer(sessions.sessions_app, name="sessions")
app.add_typer(invitations_app, name="invitations")
app.add_typer(reminders_app, name="reminders")
app.command("stock")(stock.stock)
app.add_typer(aefi.aefi_app, name="aefi")
app.add_typer(orgs.orgs_app, name="orgs")
app.add_typer(orgs.groups_app, name="groups")
app.add_typer(orgs.registrations_app, name="registrations")
register_app.command("recheck")(register_recheck.recheck)
app.add_typer(register_app, name="register")
app.add_typer(backlog_app, name="backlog")
app.add_typer(reconcile.reconcile_app, name="reconcile")
app.add_typer(worklist_app, name="worklist")
app.add_typer(stats_app, name="stats")
app.add_typer(export_app, name="export")
app.add_typer(messages_app, name="messages")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(changes_app, name="changes")
app.command()(worker)
app.command()(setup.init)
app.command()(serve.serve)
app.command()(setup.doctor)
app.command()(backup.backup)
app.command()(backup.restore)
app.command()(synth.synth)
app.command()(synth.demo)
app.add_typer(certify.keys_app, name="keys")
app.command()(certify.certify)
app.command("verify")(certify.verify_cmd)
app.command()(certify.revoke)


if __name__ == "__main__":
    app()
