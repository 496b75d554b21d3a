"""/api/v1/risk: where each bot stands against its limits."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter

from application.reports.risk_report import risk_report
from application.reports.strategy_report import latest_account
from entrypoints.cli.output import make_output_converter
from entrypoints.web.deps import BotsDep, ClockDep, StoreDep
from entrypoints.web.errors import problem_responses


class RiskController(Controller):
    path = "/risk"
    tags = ["reports"]

    @get("/", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def risk(self, store: StoreDep, clock: ClockDep, bots: BotsDep,
             account: Annotated[str | None, Parameter(max_length=100)] = None) -> dict[str, Any]:
        """Per configured bot: trading state, drawdown against the breaker, session P&L against
        the daily loss limit, heat and exposure (account: the latest session's when omitted)."""
        with store.unit_of_work(read_only=True) as uow:
            chosen = account or latest_account(uow)
            rows = risk_report(uow, account=chosen, bots=bots.specs, now=clock.now()) if chosen else []
        converter = make_output_converter()
        return {"account": chosen, "bots": [converter.unstructure(r) for r in rows]}
