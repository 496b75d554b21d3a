"""Where the trading code is, for its logs and error reports (application/log_context.py): a
strategy's exception reported with its bot, account and symbol; order lines that name the
order; an exception escaping an order carrying the order's fields to whoever reports it."""

from __future__ import annotations

import logging

import pytest

from application.log_context import context_of, current_fields, log_context
from application.trading.trading_cycle import CycleResult
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, ScriptedStrategy, always, bars, spec
from tests.fakes.error_reporter import RecordingReporter
from tests.fakes.harness import Harness


class _Fields(logging.Handler):
    """Each record with the log context of the moment it was logged (as the JSON formatter reads it)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[tuple[str, str, dict[str, str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = dict(current_fields())
        fields.update({k: getattr(record, k) for k in ("account", "bot", "symbol", "client_order_id")
                       if getattr(record, k, "")})
        self.lines.append((record.name, record.getMessage(), fields))


@pytest.fixture
def logged():
    handler = _Fields()
    logger = logging.getLogger("application.trading")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _raises(symbol: str, n: int) -> Target:
    raise RuntimeError(f"bad {symbol} at {n}")


def test_a_strategy_that_raises_is_reported_with_its_bot_account_and_symbol():
    h = Harness()
    h.cycle.errors = reporter = RecordingReporter()
    bot = h.bot(spec(name="eq", strategy=ScriptedStrategy(decide=_raises)))
    b = bars("SPY", [100])[0]
    assert h.cycle.on_bar(bot, b, now=b.end) == [CycleResult.STRATEGY_FAILED]
    [report] = reporter.reports
    assert str(report.exc) == "bad SPY at 1"
    assert report.tags == {"bot": "eq", "account": ACCOUNT, "client_order_id": "", "symbol": "SPY"}


def test_order_lines_name_the_order_its_bot_account_and_symbol(logged):
    h = Harness()
    bot = h.bot(spec(name="eq", strategy=always(Target.LONG)))
    b = bars("SPY", [100])[0]
    assert h.cycle.on_bar(bot, b, now=b.end) == [CycleResult.SUBMITTED]
    [order] = h.orders()
    lines = [(message, fields) for name, message, fields in logged if order.client_order_id in message
             or "order intent" in message]
    assert [m for m, _ in lines] == ["order intent buy 500 SPY: approved",
                                     f"order {order.client_order_id} submitted to the venue: buy 500 SPY",
                                     f"order {order.client_order_id} accepted"]
    for _, fields in lines:
        assert fields == {"account": ACCOUNT, "bot": "eq", "symbol": "SPY",
                          "client_order_id": order.client_order_id}
    assert current_fields() == {}  # nothing left behind once the cycle is done


def test_an_exception_escaping_an_order_carries_the_orders_fields():
    h = Harness()

    def venue_defect(order):
        raise KeyError("a defect in the venue adapter")

    h.broker.on_submit = venue_defect
    bot = h.bot(spec(name="eq", strategy=always(Target.LONG)))
    b = bars("SPY", [100])[0]
    with pytest.raises(KeyError) as raised:
        h.cycle.on_bar(bot, b, now=b.end)
    [order] = h.orders()
    assert context_of(raised.value) == {"account": ACCOUNT, "bot": "eq", "symbol": "SPY",
                                        "client_order_id": order.client_order_id}
    reporter = RecordingReporter()
    reporter.capture(raised.value)  # as the CLI's crash path does, long after the block is gone
    assert reporter.reports[0].tags["client_order_id"] == order.client_order_id


def test_log_context_blocks_nest_and_the_innermost_fields_travel_with_the_exception():
    with pytest.raises(ValueError) as raised:
        with log_context(account="paper"):
            with log_context(bot="eq", symbol="SPY"):
                assert current_fields() == {"account": "paper", "bot": "eq", "symbol": "SPY"}
            assert current_fields() == {"account": "paper"}
            with log_context(bot="cr"):
                raise ValueError("x")
    assert context_of(raised.value) == {"account": "paper", "bot": "cr"}
    assert current_fields() == {}
