"""The research tools' Evaluator (application/research/ports.py) on the backtest engines.

One parameter set over one window [start, stop) of a single data file's bars. The window rule
that keeps walk-forward honest: indicators may read bars before `start` to warm up, bars at or
after `stop` are never read, and trades happen only inside the window.

- Fast engine (a strategy with vectorised `targets()`, risk off; see fast_backtest_eligible):
  the targets are computed on bars[:stop] (the target of bar i reads no bar after i), the
  window's part is kept, and the kernel trades bars[start:stop] with them.
- Event engine (anything else): bars[start - history:stop] go through the event engine with a
  strategy that stays silent before bar `start`: it has its full history by then (the engine
  never shows it more than `history` bars), but cannot trade earlier. The equity is cut to the
  window; as nothing was held before `start`, the cut curve starts at the capital.

Either way the equity has one value per window bar and starts from the bot's capital, so the
windows of a walk-forward are comparable and stitch. A position still open at the window's end
is counted as a trade closed at the window's last close (its P&L is the equity change the closed
trades leave unexplained; no exit costs), so a window's trades always explain its return: no
trade means no change, and the stitched profit factor cannot contradict the stitched return.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal

import attrs
import numpy as np

from application.research.backtest import BacktestResult, TradeRow
from application.research.ports import EvaluationResult, Evaluator, Params, metrics_mapping
from domain.analytics.metrics import Metrics
from domain.errors import ConfigurationError
from domain.strategy import BarWindow, Signal, Strategy
from entrypoints.backtest_engines import fast_backtest_eligible, run_fast_backtest
from entrypoints.backtest_output import result_metrics
from entrypoints.cli.backtest import BacktestPlan, run_plan
from entrypoints.strategies import build_strategy

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class _FixedTargets:
    """Targets computed beforehand (on the bars up to the window's end) for the kernel's window run."""

    name: str
    allow_short: bool
    codes: np.ndarray = attrs.field(eq=False)
    warmup: int = 0

    def targets(self, open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,  # noqa: A002
                volume: np.ndarray) -> np.ndarray:
        if len(close) != len(self.codes):
            raise ValueError(f"targets for {len(self.codes)} bars asked for {len(close)}")
        return self.codes

    def on_bar(self, window: BarWindow) -> Signal | None:  # the kernel reads targets() only
        raise NotImplementedError


@attrs.frozen
class _SilentBefore:
    """The strategy, keeping things as they are (None) on every bar that opens before `first`."""

    inner: Strategy
    first: datetime

    @property
    def name(self) -> str:
        return self.inner.name  # part of every intent's client order id: unchanged

    @property
    def warmup(self) -> int:
        return self.inner.warmup

    def on_bar(self, window: BarWindow) -> Signal | None:
        if window.last is None or window.last.ts < self.first:
            return None
        return self.inner.on_bar(window)


@attrs.frozen(kw_only=True)
class BacktestEvaluator:
    """Implements application.research.ports.Evaluator over a one-file, one-strategy BacktestPlan."""

    plan: BacktestPlan
    strategy_name: str
    fixed_params: Mapping[str, object]

    @property
    def n_bars(self) -> int:
        return len(self._arrays)

    @property
    def _symbol(self) -> str:
        [symbol] = self.plan.files
        return symbol

    @property
    def _arrays(self):
        return self.plan.files[self._symbol]

    def __call__(self, params: Params, window: slice, /) -> EvaluationResult:
        start, stop = _bounds(window, n_bars=self.n_bars)
        try:
            strategy = build_strategy(self.strategy_name, params={**self.fixed_params, **params}, where="--param")
        except ConfigurationError as exc:
            # A combination the strategy refuses (fast >= slow): every figure undefined, which
            # every objective scores as its worst, so a search learns to stay away.
            log.debug("parameters %s refused: %s", dict(params), exc)
            return self._refused(start, stop)
        bot = attrs.evolve(self.plan.bots[0], strategy=strategy)
        eligible, _why = fast_backtest_eligible(bots=[bot], broker_config=self.plan.broker_config,
                                                risk_on=self.plan.risk_on, allocation=self.plan.allocation)
        if eligible and self.plan.engine != "event":
            result = self._fast(bot, strategy, start, stop)
        else:
            result = self._event(bot, strategy, start, stop)
        result = closed_at_window_end(result, bot=bot.name, last_close=Decimal(repr(float(self._arrays.close[stop - 1]))))
        return evaluation(result, metrics=result_metrics(result, calendar=self.plan.calendar))

    def _fast(self, bot, strategy, start: int, stop: int) -> BacktestResult:
        head = self._arrays.slice(0, stop)
        codes = np.asarray(strategy.targets(head.open, head.high, head.low, head.close, head.volume))[start:stop]
        fixed = _FixedTargets(name=strategy.name, allow_short=bool(getattr(strategy, "allow_short", False)),
                              codes=codes)
        return run_fast_backtest(bot=attrs.evolve(bot, strategy=fixed), arrays=self._arrays.slice(start, stop),
                                 instrument=self.plan.instruments[self._symbol], broker_config=self.plan.broker_config)

    def _event(self, bot, strategy, start: int, stop: int) -> BacktestResult:
        lead = max(0, start - bot.history_bars)
        first = self._arrays.timestamps[start].astype("datetime64[us]").item().replace(tzinfo=timezone.utc)
        plan = attrs.evolve(self.plan, files={self._symbol: self._arrays.slice(lead, stop)}, engine="event",
                            bots=[attrs.evolve(bot, strategy=_SilentBefore(strategy, first))])
        result = run_plan(plan, show_progress=False)
        if len(result.equity) != stop - lead:
            raise RuntimeError(f"the event engine recorded {len(result.equity)} equity values for {stop - lead} bars")
        cut = start - lead
        return attrs.evolve(result, bars=stop - start, equity=result.equity[cut:], equity_times=result.equity_times[cut:],
                            exposure=result.exposure[cut:] if len(result.exposure) else result.exposure)

    def _refused(self, start: int, stop: int) -> EvaluationResult:
        times = self._arrays.timestamps[start:stop]
        step = times[1] - times[0] if len(times) > 1 else np.timedelta64(60, "s")
        names = [field.name for field in attrs.fields(Metrics)]
        metrics: dict[str, float | None] = {name: None for name in names if name != "max_drawdown_duration"}
        metrics.update(max_drawdown_seconds=None, trades=0.0, bars=float(stop - start))
        return EvaluationResult(equity=np.full(stop - start, float(self.plan.bots[0].capital)), trade_pnls=[],
                                bar_times=times + step, metrics=metrics)


def make_evaluator(plan: BacktestPlan, *, strategy_name: str, fixed_params: Mapping[str, object]) -> Evaluator:
    """An Evaluator running `strategy_name` with `fixed_params` plus the trial's own on windows
    of the plan's single data file, with the plan's costs, sizing, capital and risk setting."""
    if len(plan.files) != 1 or len(plan.bots) != 1:
        raise ConfigurationError("--data: the research tools run one strategy on one data file")
    return BacktestEvaluator(plan=plan, strategy_name=strategy_name, fixed_params=dict(fixed_params))


def closed_at_window_end(result: BacktestResult, *, bot: str, last_close: Decimal) -> BacktestResult:
    """The run with its open position (one symbol: the research tools take one file) as one more
    trade, closed at the window's last close. Its P&L is what the closed trades leave of the
    equity change, so the trades' P&L add up to the window's return exactly."""
    if not result.open_positions or not result.fills:
        return result
    pnl = result.final_equity - result.initial_equity - sum((t.pnl for t in result.trades), Decimal(0))
    net, opened = Decimal(0), 0
    for index, fill in enumerate(result.fills):  # the fills since the position was last flat
        if net == 0:
            opened = index
        net += fill.quantity if fill.side == "buy" else -fill.quantity
    same_side = [f for f in result.fills[opened:] if (f.side == "buy") == (net > 0)]
    quantity = sum((f.quantity for f in same_side), Decimal(0))
    entry = sum((f.quantity * f.price for f in same_side), Decimal(0)) / quantity if quantity else last_close
    exit_time = result.equity_times[-1].astype("datetime64[us]").item().replace(tzinfo=timezone.utc)
    trade = TradeRow(bot=bot, symbol=result.fills[-1].symbol, side="long" if net > 0 else "short", quantity=abs(net),
                     entry_time=result.fills[opened].ts, exit_time=exit_time, entry_price=entry,
                     exit_price=last_close, pnl=pnl)
    return attrs.evolve(result, trades=(*result.trades, trade))


def evaluation(result: BacktestResult, *, metrics: Metrics) -> EvaluationResult:
    """A backtest's run as the research tools see it: its equity per bar, closed trades' P&L, figures."""
    return EvaluationResult(equity=result.equity, trade_pnls=[float(t.pnl) for t in result.trades],
                            bar_times=result.equity_times, metrics=metrics_mapping(metrics))


def _bounds(window: slice, *, n_bars: int) -> tuple[int, int]:
    start, stop = window.start, window.stop
    if window.step not in (None, 1) or start is None or stop is None or not 0 <= start < stop <= n_bars:
        raise ValueError(f"window must be slice(start, stop) with 0 <= start < stop <= {n_bars}, got {window}")
    return int(start), int(stop)
