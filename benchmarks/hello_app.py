"""The baseline for benchmarks/api_load.py: a bare Litestar hello-world (one async GET /,
no middleware, guard, store or thread hop), served by uvicorn with the same settings as
`quantshift serve`:

    .venv/bin/python -m uvicorn hello_app:create_app --factory --app-dir benchmarks --port 8001 \
        --no-proxy-headers --no-server-header --no-access-log
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_app() -> Litestar:
    """uvicorn's factory (called in each worker process); nothing happens at import."""
    return Litestar(route_handlers=[hello])
