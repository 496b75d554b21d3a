"""`quantshift serve`: the admin API and the dashboard under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from entrypoints.cli.common import ConfigOption, LogFormatOption, cli_errors, container_for, setup_logging
from entrypoints.error_reporting import check_error_reporting
from entrypoints.logging_setup import LOG_FORMAT_VARIABLE, LogFormat, uvicorn_log_config


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; put a TLS proxy in front).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    config: ConfigOption = None,
    log_format: LogFormatOption = LogFormat.TEXT,
) -> None:
    """Serve the admin API (JSON under /api/v1, /health, /metrics, /schema) and the dashboard (/dashboard).

    Needs QUANTSHIFT_JWT_SECRET and QUANTSHIFT_INVITATION_SECRET (each at least 32 bytes)."""
    import uvicorn  # the server loads only for this command

    from entrypoints.web.wiring import CONFIG_FILE, read_secrets

    setup_logging(verbose=True, log_format=log_format)
    with cli_errors():
        read_secrets(os.environ)  # refuse before binding a port, with the variable's name
        check_error_reporting(os.environ)  # each worker starts Sentry itself (entrypoints/web/wiring.py)
        container = container_for(config)  # the configuration is valid and the store opens
        container.store().migrate()
    if config is not None:
        os.environ[CONFIG_FILE] = str(config.resolve())  # the workers build their app from the environment
    os.environ[LOG_FORMAT_VARIABLE] = log_format.value  # and log as the option says
    # JSON: uvicorn's own lines into the same formatter; text: uvicorn's usual lines.
    log_config = {"log_config": uvicorn_log_config()} if log_format is LogFormat.JSON else {}
    uvicorn.run("entrypoints.web.wiring:app_from_environment", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False, access_log=False, log_level="info",
                # An open dashboard holds an event stream for up to 30 s; stopping should not wait for it.
                timeout_graceful_shutdown=5, **log_config)
