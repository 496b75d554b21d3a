"""The go-live checklist's step definitions: each calls the application's item function for its
line of the checklist with the deployment under check (`deployment`, from entrypoints/
golive_check.py's plugin), records every ItemResult it computed (`checklist`) and asserts
the one its sentence names passed.

Nothing here is a test fixture: `quantshift golive check` runs these files against the real
deployment, and CI runs the very same files (through the same runner) against prepared ones.
Outside such a run (a plain `pytest`) the directory is not collected: there is no deployment.
"""

from __future__ import annotations

from pytest_bdd import given, then

from application.golive.backups import backup_item
from application.golive.drills import failover_item, killswitch_item
from application.golive.infrastructure import alerting_item, audit_trail_item, standby_item
from application.golive.platform import bot_visible_item, reachable_item, stop_start_item
from application.golive.validation_clock import validation_items, validation_status
from entrypoints.golive_check import Checklist, Deployment, expect


def pytest_ignore_collect(collection_path, config):  # noqa: ANN001, ANN201 - pytest's hook signature
    if not config.pluginmanager.has_plugin("quantshift-golive-fixtures"):
        return True
    return None


def _now(deployment: Deployment):  # noqa: ANN202
    return deployment.clock.now()


# --- Bot validation -------------------------------------------------------------------------


@given("the bot's paper record in its current validation epoch", target_fixture="validation")
def validation(deployment: Deployment, checklist: Checklist) -> list:
    def compute() -> list:
        with deployment.store.unit_of_work(read_only=True) as uow:
            status = validation_status(uow, bot=deployment.bot.name, asset_class=deployment.bot.asset_class,
                                       now=_now(deployment), criteria=deployment.criteria,
                                       calendar=deployment.calendar)
        return validation_items(status)

    return checklist.items("validation", compute)


@then("the bot has paper traded for at least 30 trading days in its current epoch")
def trading_days(validation: list) -> None:
    expect(validation, "paper trading days")


@then("the bot has opened and closed at least 10 round trips in the epoch")
def round_trips(validation: list) -> None:
    expect(validation, "round trips")


@then("at least 45 % of those round trips were won")
def win_rate(validation: list) -> None:
    expect(validation, "win rate")


@then("the bot's equity never fell 20 % or more below its peak in the epoch")
def max_drawdown(validation: list) -> None:
    expect(validation, "max drawdown")


@then("no critical event happened in the epoch: no crash, no unexplained reconciliation mismatch, no throttle halt, "
      "no strategy exception and no store outage that degraded the bot")
def no_critical_event(validation: list) -> None:
    expect(validation, "no critical event")


# --- Risk management ------------------------------------------------------------------------


@given("the bot's risk configuration, replayed over the synthetic crash", target_fixture="risk")
def risk(deployment: Deployment, checklist: Checklist) -> list:
    return checklist.items("risk", deployment.risk_items)


@then("the portfolio heat cap is set to at most 10 % of equity and enforced for the bot")
def heat(risk: list) -> None:
    expect(risk, "portfolio heat cap")


@then("Kelly or volatility sizing is configured for the bot")
def sizing(risk: list) -> None:
    expect(risk, "position sizing")


@then("the drawdown breaker is set explicitly and tripped in the crash replay")
def drawdown_breaker(risk: list) -> None:
    expect(risk, "drawdown breaker")


@then("the daily loss limit is set explicitly and tripped in the crash replay")
def daily_loss(risk: list) -> None:
    expect(risk, "daily loss limit")


@then("the hard position and order limits are set explicitly")
def hard_limits(risk: list) -> None:
    expect(risk, "hard position and order limits")


@then("the kill switch was drilled on this deployment within the last 7 days, every open order was cancelled and "
      "nothing was sent more than 1 second after the halt")
def kill_switch(deployment: Deployment, checklist: Checklist) -> None:
    with deployment.store.unit_of_work(read_only=True) as uow:
        item = killswitch_item(uow, bot=deployment.bot.name, now=_now(deployment))
    expect(checklist.record(item))


# --- Infrastructure -------------------------------------------------------------------------


@then("the store is Postgres and a standby instance of the bot is heartbeating now")
def standby(deployment: Deployment, checklist: Checklist) -> None:
    with deployment.store.unit_of_work(read_only=True) as uow:
        item = standby_item(uow, bot=deployment.bot.name, engine=deployment.engine, now=_now(deployment))
    expect(checklist.record(item))


@then("a failover drill passed on this deployment within the last 7 days")
def failover(deployment: Deployment, checklist: Checklist) -> None:
    with deployment.store.unit_of_work(read_only=True) as uow:
        item = failover_item(uow, now=_now(deployment))
    expect(checklist.record(item))


@then("an alert channel is configured and a test alert was delivered through it within the last 7 days")
def alerting(deployment: Deployment, checklist: Checklist) -> None:
    with deployment.store.unit_of_work(read_only=True) as uow:
        item = alerting_item(uow, smtp_configured=deployment.settings.mail.configured, now=_now(deployment))
    expect(checklist.record(item))


@then("the store refuses to change or delete entries of the audit trail")
def audit_trail(deployment: Deployment, checklist: Checklist) -> None:
    expect(checklist.record(audit_trail_item(deployment.audit_guard)))


@then("the live keys are set and the live endpoint accepts them: account active, trading not blocked, "
      "permissions to read and trade")
def live_credentials(deployment: Deployment, checklist: Checklist) -> None:
    expect(checklist.record(deployment.live_credentials()))


@then("a backup was taken within the last 24 hours and verified by restoring it")
def backup(deployment: Deployment, checklist: Checklist) -> None:
    with deployment.store.unit_of_work(read_only=True) as uow:
        item = backup_item(uow, now=_now(deployment))
    expect(checklist.record(item))


# --- Platform -------------------------------------------------------------------------------


@then("`quantshift serve` answers at the configured public URL")
def reachable(deployment: Deployment, checklist: Checklist) -> None:
    expect(checklist.record(reachable_item(deployment.admin_api, problem=deployment.admin_api_problem)))


@then("the bot is listed there with a fresh heartbeat")
def visible(deployment: Deployment, checklist: Checklist) -> None:
    expect(checklist.record(bot_visible_item(deployment.admin_api, bot=deployment.bot.name,
                                             problem=deployment.admin_api_problem)))


@then("the bot's paper run stops and starts again through the API")
def stop_start(deployment: Deployment, checklist: Checklist) -> None:
    expect(checklist.record(stop_start_item(deployment.admin_api, bot=deployment.bot.name, actor=deployment.actor,
                                            problem=deployment.admin_api_problem)))
