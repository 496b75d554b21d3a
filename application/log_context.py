"""Where the code is, for its logs and error reports: the account, bot, symbol and order it is
working on, as context variables the trading loop sets and a log formatter or error reporter
reads (adapters/logging, adapters/sentry). The loop sets them once where it knows them
(`with log_context(bot=..., symbol=...)`), so every line logged inside (ours, the venue
adapters', the store's) carries them without each call passing them on.

An exception that leaves a `log_context` block takes the fields it was raised under along
(`context_of`): the CLI's crash report tags the bot and the order even though the block is gone.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from domain.orders.order import Order

FIELDS = ("account", "bot", "symbol", "client_order_id")

_current: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("quantshift_log_context", default={})
_CARRIED = "_quantshift_log_context"  # the attribute an escaping exception carries its fields in


@contextmanager
def log_context(*, account: str = "", bot: str = "", symbol: str = "", client_order_id: str = "") -> Iterator[None]:
    """The fields given (empty ones are left as they were) for the code inside the block."""
    given = {"account": account, "bot": bot, "symbol": symbol, "client_order_id": client_order_id}
    token = _current.set({**_current.get(), **{k: v for k, v in given.items() if v}})
    try:
        yield
    except BaseException as exc:
        if not hasattr(exc, _CARRIED):  # the innermost block knows the most
            try:
                setattr(exc, _CARRIED, dict(_current.get()))
            except (AttributeError, TypeError):  # an exception type without a __dict__
                pass
        raise
    finally:
        _current.reset(token)


def current_fields() -> Mapping[str, str]:
    """The fields set by the enclosing log_context blocks of this thread (or task)."""
    return _current.get()


def context_of(exc: BaseException) -> Mapping[str, str]:
    """The fields an exception was raised under, or those of the code handling it now."""
    carried = getattr(exc, _CARRIED, None)
    return carried if isinstance(carried, dict) else current_fields()


def order_fields(order: Order) -> dict[str, str]:
    """An order's fields as logging's `extra=`: for code that handles orders outside a bot's
    block (venue events, reconciliation)."""
    return {"account": order.account, "bot": order.bot, "symbol": order.symbol,
            "client_order_id": order.client_order_id}
