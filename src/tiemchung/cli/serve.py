"""`tiemchung serve`: the web pages and the HTTP API in one server."""

from __future__ import annotations

from typing import Annotated

import typer

from tiemchung.config import get_settings


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
