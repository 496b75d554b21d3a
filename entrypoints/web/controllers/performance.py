"""/api/v1/dashboard/stats and /api/v1/performance: the dashboard's figures with their last
seven days of snapshots, and the performance (metrics, equity and drawdown curves) of a bot
or of a strategy. Read-only: any role."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, Parameter

from application.reports.dashboard_stats import seven_day_stats
from application.reports.performance import (
    DEFAULT_POINTS,
    MAX_POINTS,
    MIN_POINTS,
    bot_performance,
    strategy_performance,
    strategy_performances,
)
from application.reports.strategy_report import latest_account
from entrypoints.web.deps import BotsDep, ClockDep, StoreDep
from entrypoints.web.dto_performance import (
    DashboardStatsResponse,
    PerformanceResponse,
    StrategiesPerformanceResponse,
    dashboard_response,
    performance_response,
    summary_response,
)
from entrypoints.web.errors import problem_responses

Account = Annotated[str | None, Parameter(max_length=100, description="default: the latest session's account")]
Points = Annotated[int, Parameter(ge=MIN_POINTS, le=MAX_POINTS,
                                  description="most points per curve (each bucket keeps its first, last, min and max)")]


class DashboardController(Controller):
    path = "/dashboard"
    tags = ["reports"]

    @get("/stats", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def stats(self, store: StoreDep, clock: ClockDep, bots: BotsDep) -> DashboardStatsResponse:
        """Equity, P&L today, positions and exposure, trades, win rate, drawdown, heat and bot
        states, for every bot and all of them; each figure with its daily snapshots of the last
        seven UTC days (days without a snapshot are absent)."""
        with store.unit_of_work(read_only=True) as uow:
            stats = seven_day_stats(uow, now=clock.now(), bots=bots.specs)
        return dashboard_response(stats)


class PerformanceController(Controller):
    path = "/performance"
    tags = ["reports"]

    @get("/bots/{account:str}/{bot:str}", sync_to_thread=True, responses=problem_responses(400, 401, 404, 503))
    def bot(self, store: StoreDep, bots: BotsDep, account: FromPath[str], bot: FromPath[str],
            points: Points = DEFAULT_POINTS) -> PerformanceResponse:
        """One bot's metrics, equity curve and drawdown curve."""
        with store.unit_of_work(read_only=True) as uow:
            found = bot_performance(uow, account=account, bot=bot, bots=bots.specs, max_points=points)
        if found is None:
            raise NotFoundException(f"no bot {bot} in account {account}")
        return performance_response(found)

    @get("/strategies", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def strategies(self, store: StoreDep, bots: BotsDep, account: Account = None) -> StrategiesPerformanceResponse:
        """Per strategy name (its bots in the account together): metrics and each bot's figures."""
        with store.unit_of_work(read_only=True) as uow:
            chosen = account or latest_account(uow)
            found = strategy_performances(uow, account=chosen, bots=bots.specs) if chosen else []
        return StrategiesPerformanceResponse(account=chosen, strategies=[summary_response(p) for p in found])

    @get("/strategies/{name:str}", sync_to_thread=True, responses=problem_responses(400, 401, 404, 503))
    def strategy(self, store: StoreDep, bots: BotsDep, name: FromPath[str], account: Account = None,
                 points: Points = DEFAULT_POINTS) -> PerformanceResponse:
        """One strategy's metrics, equity curve and drawdown curve (its bots in the account summed)."""
        with store.unit_of_work(read_only=True) as uow:
            chosen = account or latest_account(uow)
            found = strategy_performance(uow, account=chosen, name=name, bots=bots.specs, max_points=points) \
                if chosen else None
        if found is None:
            raise NotFoundException(f"no strategy {name} in account {chosen}")
        return performance_response(found)
