"""A background thread run for the life of the web app: started by its lifespan, stopped (and
waited for, off the event loop) on shutdown. The snapshot job and the watchdog use it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any


def thread_lifespan(*, start: Callable[[], None],
                    stop: Callable[[], None]) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan hook: `start()` before the server serves; `stop()` (blocking: it joins
    the thread) on a worker thread once it shuts down."""
    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        start()
        try:
            yield
        finally:
            import anyio.to_thread  # the web app's own dependency; `watch` never loads it

            await anyio.to_thread.run_sync(stop)

    return lifespan
