"""/api/v1/strategies: each strategy's weight and performance in an account."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter

from application.reports.strategy_report import latest_account, strategy_report
from entrypoints.web.deps import BotsDep, StoreDep
from entrypoints.web.errors import problem_responses


class StrategiesController(Controller):
    path = "/strategies"
    tags = ["reports"]

    @get("/", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def strategies(self, store: StoreDep, bots: BotsDep,
                   account: Annotated[str | None, Parameter(max_length=100)] = None) -> dict[str, Any]:
        """P&L, win rate, profit factor, Sharpe and drawdown per strategy sleeve (capital moved by
        the allocator taken out), return correlations, switched-off strategies."""
        names = bots.strategy_names()
        with store.unit_of_work(read_only=True) as uow:
            chosen = account or latest_account(uow)
            report = strategy_report(uow, account=chosen, strategy_names=names) if chosen else None
        if report is None:
            return {"account": account, "strategies": [], "correlations": [], "disabled": [], "last_rebalance": None}
        return report.to_json()
