"""`quantshift golive fidelity [--bot NAME] [--json]`: how far each live bot's fills are from its
shadow paper bot's simulated fills on the same bars (application/golive/shadow.py), and where
each bot stands in its probation (application/golive/probation.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from application.golive.probation import latest_probation
from application.golive.shadow import fidelity_report
from application.ports import UnitOfWork
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, reading_container
from entrypoints.cli.output import print_json, print_table


def fidelity_rows(uow: UnitOfWork, *, bot: str | None = None) -> list[dict[str, object]]:
    """The report as JSON rows (also for the admin platform's go-live page): per live bot with a
    shadow, the fidelity figures, and its probation stage (latest probation decision)."""
    rows = []
    for item in fidelity_report(uow, bot=bot):
        stage = latest_probation(uow, bot=item.bot)
        rows.append({**item.to_json(with_pairs=True),
                     "probation": None if stage is None else {
                         "event": stage.data.get("event"), "since": stage.ts.isoformat(),
                         "fraction": stage.data.get("fraction"), "days": stage.data.get("days"),
                         "reason": stage.data.get("reason")}})
    return rows


def _bps(value: object) -> str:
    return "-" if value is None else f"{value:+.1f} bps"


def _ratio(value: object) -> str:
    return "-" if value is None else f"{float(value):.0%}"  # type: ignore[arg-type]


def fidelity_command(
    bot: Annotated[str | None, typer.Option("--bot", help="Only this bot.")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Live-vs-paper fidelity: each live order paired with its shadow's twin (same bot, strategy,
    symbol, side and bar); price difference in bps (positive: the live fill was worse), fill rate."""
    with cli_errors():
        container = reading_container(config)
        with container.store().unit_of_work(read_only=True) as uow:
            rows = fidelity_rows(uow, bot=bot)
    if json_output:
        print_json({"bots": rows})
        return
    if not rows:
        print("no live bot with a shadow yet" + (f" named {bot}" if bot else "")
              + ": `quantshift live` starts one beside every live bot")
        return
    print_table("live vs shadow fills", ["bot", "live account", "probation", "pairs", "live only", "shadow only",
                                         "mean", "median", "worst", "fill rate", "qty ratio"],
                [[r["bot"], r["live_account"], (r["probation"] or {}).get("event", "-"), r["paired"], r["live_only"],
                  r["shadow_only"], _bps(r["price_diff_bps_mean"]), _bps(r["price_diff_bps_median"]),
                  _bps(r["price_diff_bps_worst"]), _ratio(r["fill_rate"]), _ratio(r["quantity_ratio"])]
                 for r in rows])
