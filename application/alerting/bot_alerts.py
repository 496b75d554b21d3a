"""The alerts a bot raises about itself, each under its condition's key, so the lifecycle can
send it once, say when it is resolved and repeat the critical ones until acknowledged:

    drawdown_warning:<account>/<bot>    the drawdown breaker's REDUCING (resolved by a recovery or a resume)
    drawdown_breaker:<account>/<bot>    the breaker's HALT (resolved by a resume)
    daily_loss:<account>/<bot>          the daily loss limit tripped (resolved by the next trading session)
    halted:<scope>                      a halt by an operator, the risk engine or a lost order (resolved by a resume)
    throttle_halt:<account>/<bot>       the order-rate throttle halted the bot (resolved by a resume)
    strategy_disabled:<account>/<bot>/<symbol>   a strategy raised and was switched off (resolved at the next start)
    order_rejects:<account>/<bot>       the venue rejected N orders in a row (resolved by the next order it takes)
    reconciliation_mismatch:<account>   the store and the venue disagreed (resolved by a clean reconciliation)
    trading_paused:<account>            the store was unreachable, trading paused (resolved when it is back)

The trading code holds a Notifier; the process's one (the dispatcher) is also an AlertSink.
A plain Notifier (a test's, a tool's) still gets what it always got: the same titles and levels
through notify(), and a resolve only where a notice was sent before (a resume, a recovery).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from application.alerting.alert import Alert
from application.alerting.ports import AlertSink
from application.ports import AlertLevel, Notifier
from application.records import GLOBAL_SCOPE, bot_scope
from domain import display
from domain.orders.events import BrokerEvent, OrderAccepted, OrderFilled, OrderRejected
from domain.risk.circuit_breakers import BreakerDecision, DrawdownBreaker
from domain.risk.trading_state import TradingState

DRAWDOWN_WARNING = "drawdown_warning"
DRAWDOWN_BREAKER = "drawdown_breaker"
DAILY_LOSS = "daily_loss"
HALTED = "halted"
THROTTLE_HALT = "throttle_halt"
STRATEGY_DISABLED = "strategy_disabled"
ORDER_REJECTS = "order_rejects"
RECONCILIATION = "reconciliation_mismatch"
TRADING_PAUSED = "trading_paused"
THROTTLE_CHECKS = ("order_rate_symbol", "order_rate_bot")  # domain/risk/risk.py OrderRateThrottle.name
# What a resume lifts: every key a halt or REDUCING of the scope was raised under.
_LIFTED_BY_RESUME = (HALTED, THROTTLE_HALT, DRAWDOWN_BREAKER, DRAWDOWN_WARNING)


def key(kind: str, scope: str) -> str:
    return f"{kind}:{scope}"


def _fire(notifier: Notifier, alert: Alert) -> None:
    if isinstance(notifier, AlertSink):
        notifier.fire(alert)
    else:
        notifier.notify(level=alert.level, title=alert.title, body=alert.body)


def _resolve(notifier: Notifier, keys: Iterable[str], *, title: str, body: str, account: str = "", bot: str = "",
             notice: AlertLevel | None = AlertLevel.WARNING) -> None:
    """Resolve `keys`; a plain Notifier gets one notice at `notice` (None: it never had one)."""
    if isinstance(notifier, AlertSink):
        for each in keys:
            notifier.resolve(key=each, title=title, body=body, account=account, bot=bot)
    elif notice is not None:
        notifier.notify(level=notice, title=title, body=body)


def _scope_of(scope: str) -> tuple[str, str]:
    return ("", "") if scope == GLOBAL_SCOPE else (scope.split("/", 1)[0], scope.split("/", 1)[-1])


# --- the drawdown breaker and the daily loss limit -----------------------------------------------


def drawdown_changed(notifier: Notifier, *, account: str, bot: str, decision: BreakerDecision, equity: Decimal,
                     breaker: DrawdownBreaker | None) -> None:
    """The breaker moved the bot to decision.state (REDUCING: the warning; HALTED: the breaker;
    ACTIVE: recovered under the warning)."""
    scope, state, reason = bot_scope(account, bot), decision.state, decision.reason
    title = f"bot {bot} {state.value}"
    figures = {"drawdown": f"{decision.drawdown:.2%}", "equity": display.money(equity)}
    if breaker is not None:
        figures |= {"warning": f"{breaker.warning:.2%}", "limit": f"{breaker.limit:.2%}"}
    if state is TradingState.ACTIVE:
        _resolve(notifier, [key(DRAWDOWN_WARNING, scope)], title=title, body=reason, account=account, bot=bot)
        return
    kind, level = ((DRAWDOWN_WARNING, AlertLevel.WARNING) if state is TradingState.REDUCING
                   else (DRAWDOWN_BREAKER, AlertLevel.CRITICAL))
    _fire(notifier, Alert(key=key(kind, scope), level=level, title=title, body=reason, account=account, bot=bot,
                          figures=figures))


def daily_loss_tripped(notifier: Notifier, *, account: str, bot: str, reason: str) -> None:
    _fire(notifier, Alert(key=key(DAILY_LOSS, bot_scope(account, bot)), level=AlertLevel.CRITICAL,
                          title=f"bot {bot}: daily loss limit", body=reason, account=account, bot=bot))


def daily_loss_rearmed(notifier: Notifier, *, account: str, bot: str) -> None:
    """A new trading session re-armed the limit a trip held (no notice for a plain Notifier: it never had one)."""
    _resolve(notifier, [key(DAILY_LOSS, bot_scope(account, bot))], title=f"bot {bot}: daily loss limit re-armed",
             body="a new trading session started", account=account, bot=bot, notice=None)


# --- halts and resumes -----------------------------------------------------------------------------


def halted(notifier: Notifier, *, scope: str, title: str, body: str, check: str = "") -> None:
    """A halt of `scope` (an operator's, the risk engine's `check`, a lost order's)."""
    account, bot = _scope_of(scope)
    kind = THROTTLE_HALT if check in THROTTLE_CHECKS else HALTED
    _fire(notifier, Alert(key=key(kind, scope), level=AlertLevel.CRITICAL, title=title, body=body, account=account,
                          bot=bot, figures={"check": check} if check else {}))


def resumed(notifier: Notifier, *, scopes: Iterable[str], title: str, body: str) -> None:
    """A resume lifted `scopes`: every halt and REDUCING alert of each is resolved."""
    scopes = list(scopes)
    account, bot = _scope_of(scopes[0]) if len(scopes) == 1 else ("", "")
    _resolve(notifier, [key(kind, scope) for scope in scopes for kind in _LIFTED_BY_RESUME], title=title,
             body=body, account=account, bot=bot)


# --- the strategy, the venue's answers, the store ---------------------------------------------------


def strategy_disabled(notifier: Notifier, *, account: str, bot: str, symbol: str, why: str) -> None:
    _fire(notifier, Alert(key=key(STRATEGY_DISABLED, f"{bot_scope(account, bot)}/{symbol}"),
                          level=AlertLevel.CRITICAL, title=f"strategy disabled on {bot}/{symbol}", body=why,
                          account=account, bot=bot, figures={"symbol": symbol}))


def session_started(notifier: Notifier, *, account: str, bots: Iterable[str],
                    symbols: Mapping[str, Iterable[str]]) -> None:
    """A (re)start runs every strategy again with no reject streak: what the last run left open is over."""
    for bot in bots:
        scope = bot_scope(account, bot)
        keys = [key(ORDER_REJECTS, scope)] + [key(STRATEGY_DISABLED, f"{scope}/{s}") for s in symbols.get(bot, ())]
        _resolve(notifier, keys, title=f"bot {bot} started again", body="its strategies run again",
                 account=account, bot=bot, notice=None)


def reconciliation(notifier: Notifier, *, account: str, mismatches: list[str] | None) -> None:
    """A reconciliation's result: its mismatches (bots halted), or None when it agreed (resolves an earlier one)."""
    scope_key = key(RECONCILIATION, account)
    if mismatches is None:
        _resolve(notifier, [scope_key], title=f"reconciliation of {account} agrees again",
                 body="the store and the venue agree", account=account, notice=None)
        return
    _fire(notifier, Alert(key=scope_key, level=AlertLevel.CRITICAL,
                          title=f"reconciliation failed for {account}: bots halted", body="; ".join(mismatches),
                          account=account, figures={"mismatches": str(len(mismatches))}))


def trading_paused(notifier: Notifier, *, account: str, why: str) -> None:
    _fire(notifier, Alert(key=key(TRADING_PAUSED, account), level=AlertLevel.CRITICAL,
                          title="store unavailable: trading paused", body=why, account=account))


def trading_resumed(notifier: Notifier, *, account: str, why: str) -> None:
    _resolve(notifier, [key(TRADING_PAUSED, account)], title="store back: trading resumed", body=why,
             account=account)


class RejectStreaks:
    """The venue's answers per bot: `threshold` rejections in a row fire order_rejects:<account>/<bot>;
    the next order it takes (accepted or filled) ends the streak and resolves it."""

    def __init__(self, *, notifier: Notifier, account: str, threshold: int = 3) -> None:
        if threshold < 1:
            raise ValueError("reject_streak must be at least 1")
        self._notifier = notifier
        self._account = account
        self._threshold = threshold
        self._streaks: dict[str, list[str]] = {}

    def observe(self, bot: str, event: BrokerEvent) -> None:
        """One venue event of `bot`'s, as it was recorded."""
        if isinstance(event, OrderRejected):
            streak = self._streaks.setdefault(bot, [])
            streak.append(f"{event.client_order_id}: {event.reason}")
            if len(streak) == self._threshold:
                _fire(self._notifier, Alert(
                    key=key(ORDER_REJECTS, bot_scope(self._account, bot)), level=AlertLevel.CRITICAL,
                    title=f"bot {bot}: {len(streak)} orders rejected in a row", body="\n".join(streak),
                    account=self._account, bot=bot, figures={"rejected_in_a_row": str(len(streak))}))
        elif isinstance(event, OrderAccepted | OrderFilled):
            streak = self._streaks.pop(bot, [])
            if len(streak) >= self._threshold:
                _resolve(self._notifier, [key(ORDER_REJECTS, bot_scope(self._account, bot))],
                         title=f"bot {bot}: the venue takes its orders again",
                         body=f"after {len(streak)} rejected in a row", account=self._account, bot=bot, notice=None)
