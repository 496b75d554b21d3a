"""Wire types of the dashboard stats and performance endpoints (msgspec Structs, like dto.py)
and the mapping from the use cases' results. Money and drawdown fractions of the dashboard
are decimal strings; statistics are JSON numbers, with "inf"/"-inf" where a ratio is
infinite (a profit factor without a losing trade) and null where it is undefined."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import attrs
import msgspec
import msgspec.structs

from application.reports.dashboard_stats import DashboardStats, Figures, ScopeStats
from application.reports.performance import Performance
from application.trading.allocation import SleeveFigures

Infinite = Literal["inf", "-inf"]
# Money and other exact decimals, written out in full ("0.0000000000", never msgspec's str(Decimal)
# "0E-10", which not every client's decimal parser reads).
DecimalText = str


class FiguresResponse(msgspec.Struct, kw_only=True):
    equity: DecimalText
    pnl_today: DecimalText  # since the first equity point of this UTC day
    pnl_session: DecimalText | None  # since the bot's trading session began (the daily loss limit's); null: unknown
    open_positions: int
    exposure_gross: DecimalText
    exposure_net: DecimalText
    trades_today: int  # round trips closed this UTC day
    trades_total: int
    win_rate: float | None
    peak: DecimalText
    drawdown: DecimalText  # fraction below the peak
    heat: DecimalText | None  # risk to the open positions' stops; null: no stops to measure
    bots_total: int
    bots_up: int
    bots_stale: int
    bots_halted: int
    bots_stopped: int


class DecimalPoint(msgspec.Struct, kw_only=True):
    day: date
    value: DecimalText


class IntPoint(msgspec.Struct, kw_only=True):
    day: date
    value: int


class FloatPoint(msgspec.Struct, kw_only=True):
    day: date
    value: float


class SeriesResponse(msgspec.Struct, kw_only=True):
    """Per figure, one point per UTC day that has a snapshot (oldest first); no point is made up
    for a day without one."""

    equity: list[DecimalPoint]
    pnl_today: list[DecimalPoint]
    pnl_session: list[DecimalPoint]
    open_positions: list[IntPoint]
    exposure_gross: list[DecimalPoint]
    exposure_net: list[DecimalPoint]
    trades_today: list[IntPoint]
    trades_total: list[IntPoint]
    win_rate: list[FloatPoint]
    peak: list[DecimalPoint]
    drawdown: list[DecimalPoint]
    heat: list[DecimalPoint]
    bots_total: list[IntPoint]
    bots_up: list[IntPoint]
    bots_stale: list[IntPoint]
    bots_halted: list[IntPoint]
    bots_stopped: list[IntPoint]


class ScopeStatsResponse(msgspec.Struct, kw_only=True):
    scope: str  # "all", or "bot:<account>/<bot>"
    figures: FiguresResponse
    series: SeriesResponse


class BotStatsResponse(ScopeStatsResponse, kw_only=True):
    account: str
    bot: str
    state: str  # running, stale, stopped, halted; unknown without a heartbeat


class DashboardStatsResponse(msgspec.Struct, kw_only=True):
    as_of: datetime
    since: date  # the first day of the series
    overall: ScopeStatsResponse
    bots: list[BotStatsResponse]


class MetricsResponse(msgspec.Struct, kw_only=True):
    """docs/metrics.md defines each; fractions, not percentages."""

    bars: int
    periods_per_year: float
    total_return: float
    cagr: float | Infinite | None  # null for less than a quarter of a year of history
    annual_volatility: float | None
    sharpe: float | Infinite | None
    sortino: float | Infinite | None
    calmar: float | Infinite | None
    max_drawdown: float
    max_drawdown_bars: int
    max_drawdown_seconds: float | None
    trades: int
    win_rate: float | None
    profit_factor: float | Infinite | None
    expectancy: float | None
    average_win: float | None
    average_loss: float | None
    payoff_ratio: float | Infinite | None


class SleeveResponse(msgspec.Struct, kw_only=True):
    """A bot's figures as `quantshift strategies --json` prints them (daily returns, transfers out)."""

    bot: str
    strategy: str
    weight: DecimalText
    equity: DecimalText
    net_pnl: DecimalText
    trades: int
    win_rate: float
    profit_factor: float | Infinite | None
    sharpe: float
    max_drawdown: float
    daily_volatility: float


class EquityPointResponse(msgspec.Struct, kw_only=True):
    ts: datetime
    equity: DecimalText


class DrawdownPointResponse(msgspec.Struct, kw_only=True):
    ts: datetime
    drawdown: float  # below the high-water mark, <= 0


class PerformanceSummary(msgspec.Struct, kw_only=True):
    account: str
    name: str  # the bot's, or the strategy's
    strategy: str
    bots: list[str]
    metrics: MetricsResponse | None  # null until the curve has two marks
    equity_start: DecimalText  # the capital given
    equity_end: DecimalText
    net_pnl: DecimalText  # capital moved in by the allocator taken out
    points_total: int
    sleeves: list[SleeveResponse]


class PerformanceResponse(PerformanceSummary, kw_only=True):
    equity: list[EquityPointResponse]  # at most `points`: each bucket's first, last, lowest, highest
    drawdown: list[DrawdownPointResponse]


class StrategiesPerformanceResponse(msgspec.Struct, kw_only=True):
    account: str | None
    strategies: list[PerformanceSummary]


def _plain(value: object) -> object:
    return format(value, "f") if isinstance(value, Decimal) else value


def figures_response(figures: Figures) -> FiguresResponse:
    return FiguresResponse(**{name: _plain(value) for name, value in attrs.asdict(figures).items()})


def _scope(stats: ScopeStats) -> dict[str, Any]:
    series = {name: [{"day": p.day, "value": _plain(p.value)} for p in points]
              for name, points in stats.series.items()}
    return {"scope": stats.scope, "figures": figures_response(stats.figures),
            "series": msgspec.convert(series, SeriesResponse)}


def dashboard_response(stats: DashboardStats) -> DashboardStatsResponse:
    return DashboardStatsResponse(
        as_of=stats.as_of, since=stats.since, overall=ScopeStatsResponse(**_scope(stats.overall)),
        bots=[BotStatsResponse(account=b.account, bot=b.bot, state=b.state, **_scope(b.stats)) for b in stats.bots])


def sleeve_response(sleeve: SleeveFigures) -> SleeveResponse:
    return msgspec.convert(sleeve.to_json(), SleeveResponse)


def summary_response(p: Performance) -> PerformanceSummary:
    return PerformanceSummary(
        account=p.account, name=p.name, strategy=p.strategy, bots=list(p.bots),
        metrics=None if p.metrics is None else msgspec.convert(p.metrics.to_json(), MetricsResponse),
        equity_start=format(p.equity_start, "f"), equity_end=format(p.equity_end, "f"),
        net_pnl=format(p.net_pnl, "f"), points_total=p.points_total,
        sleeves=[sleeve_response(s) for s in p.sleeves])


def performance_response(p: Performance) -> PerformanceResponse:
    return PerformanceResponse(
        **msgspec.structs.asdict(summary_response(p)),
        equity=[EquityPointResponse(ts=ts, equity=format(value, "f")) for ts, value in p.equity_curve],
        drawdown=[DrawdownPointResponse(ts=ts, drawdown=value) for ts, value in p.drawdown_curve])
