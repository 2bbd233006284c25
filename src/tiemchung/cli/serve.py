"""`tiemchung serve`: the web pages and the HTTP API in one server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tiemchung.config import get_settings

#: How long a worker may take to start, and to answer a ping once started, before uvicorn's
#: supervisor kills and replaces it.
WORKER_STARTUP_S = 30


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes / Số tiến trình xử lý")] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips: the throttles then "
            "count the client's address, not the proxy's / Tin địa chỉ khách do proxy chuyển tiếp"
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Proxy addresses whose forwarded headers are trusted (comma-separated, or *) "
            "/ Địa chỉ proxy được tin"
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve the web application and the HTTP API / Chạy trang web và API.

    Each worker masks its logs and writes them as TIEMCHUNG_LOG_FORMAT says (text or json),
    every line with its request id; the throttles count in the database (or Redis,
    TIEMCHUNG_REDIS_URL), so every worker shares them."""
    import uvicorn

    from tiemchung import logmask

    settings = get_settings()
    logmask.install(settings.log_level, settings.log_format)
    if settings.sms_worker_in_serve:
        _start_sender()
    if settings.webhooks_in_serve:
        _start_deliverer()
    metrics_dir = _metrics_dir(settings.data_dir) if workers > 1 else None
    try:
        uvicorn.run(
            "tiemchung.server:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,  # each request's access line is the app's (serving/requestid.py)
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
            # a worker imports the whole app before it answers the supervisor's first ping:
            # 5 s (uvicorn's default) killed every worker of a busy 2-core machine in a loop
            timeout_worker_healthcheck=WORKER_STARTUP_S,
        )
    finally:
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(data_dir: Path) -> Path:
    """A fresh folder for prometheus_client's multiprocess files, named in the environment
    the workers inherit (serving/metrics.py): a scrape answered by any worker then sums them
    all. Fresh each start, so a previous run's counts (and its dead pids) are not summed in."""
    import os
    import tempfile

    base = data_dir / "run"
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="metrics-", dir=base))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def _start_sender() -> None:
    """The SMS sender in a thread beside the server (the demo's file gateway): its own
    platform, so the server's stays the server's."""
    import threading

    from tiemchung.cli.messages import run_sender
    from tiemchung.core import Platform

    def loop() -> None:
        with Platform() as platform:
            run_sender(platform, threading.Event(), None, once=False)

    threading.Thread(target=loop, name="sms-sender", daemon=True).start()


def _start_deliverer() -> None:
    """The webhook deliverer in a thread beside the server (``TIEMCHUNG_WEBHOOKS_IN_SERVE``):
    its own platform; several servers may each run one (leases keep them apart)."""
    import threading

    from tiemchung.cli.webhooks import run_deliverer
    from tiemchung.core import Platform

    def loop() -> None:
        with Platform() as platform:
            run_deliverer(platform, threading.Event())

    threading.Thread(target=loop, name="webhooks", daemon=True).start()
