"""`quantshift serve`: the admin API and the dashboard under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from entrypoints.cli.common import ConfigOption, cli_errors, container_for


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; put a TLS proxy in front).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    config: ConfigOption = None,
) -> None:
    """Serve the admin API (JSON under /api/v1, /health, /metrics, /schema) and the dashboard (/dashboard).

    Needs QUANTSHIFT_JWT_SECRET and QUANTSHIFT_INVITATION_SECRET (each at least 32 bytes)."""
    import uvicorn  # the server loads only for this command

    from entrypoints.web.wiring import CONFIG_FILE, read_secrets

    with cli_errors():
        read_secrets(os.environ)  # refuse before binding a port, with the variable's name
        container = container_for(config)  # the configuration is valid and the store opens
        container.store().migrate()
    if config is not None:
        os.environ[CONFIG_FILE] = str(config.resolve())  # the workers build their app from the environment
    uvicorn.run("entrypoints.web.wiring:app_from_environment", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False, access_log=False, log_level="info",
                # An open dashboard holds an event stream for up to 30 s; stopping should not wait for it.
                timeout_graceful_shutdown=5)
