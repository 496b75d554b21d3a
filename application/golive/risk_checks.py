"""The checklist's "Risk management" section for one bot (the kill-switch drill is drills').

Each item says what it measured and, when it fails, what to write in the config. The engine's
own objects (the BotSpec the session runs, built by the container) say what is enforced;
`configured` and `explicit` say what the file wrote: live trading takes no default for a
limit, since nobody chose it for this bot. The drawdown breaker and the daily loss limit must
also be shown to trip on this configuration: the crash replay (application/golive/crash_replay.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from application.golive.checklist import ItemResult
from application.golive.crash_replay import CrashReplay, CrashReplayer, Trip
from application.trading.bot import BotSpec
from domain.analytics.golive import LiveRiskRequirements
from domain.display import money, percent, plain
from domain.errors import QuantShiftError
from domain.risk.position_sizing import FractionalKelly, VolatilitySizing
from domain.risk.sizing import FixedFraction

SECTION = "Risk management"


def risk_items(*, spec: BotSpec, configured: Mapping[str, object], explicit: Collection[str],
               replay: CrashReplayer, requirements: LiveRiskRequirements | None = None) -> list[ItemResult]:
    """`configured`: every risk and bot setting by dotted name ("risk.max_heat", "bot.sizing");
    `explicit`: those of them the config file set. `replay` is run at most once, and only when
    a drawdown breaker or a daily loss limit is on; if it cannot run, both items say why."""
    need = requirements or LiveRiskRequirements()
    keys = frozenset(explicit)
    run = _Once(replay) if spec.drawdown is not None or spec.daily_loss is not None else None
    return [_heat(spec, configured, keys, need), _sizing(spec, configured, need),
            _drawdown(spec, configured, keys, need, run), _daily_loss(spec, configured, keys, need, run),
            _hard_limits(configured, keys, need)]


def _item(name: str, requirement: str, figure: str, problems: list[str]) -> ItemResult:
    return ItemResult(section=SECTION, item=name, requirement=requirement, figure=figure, passed=not problems,
                      detail="; ".join(problems))


def _shown(key: str, configured: Mapping[str, object], keys: frozenset[str], *, as_percent: bool = False) -> str:
    value = configured[key]
    text = percent(value) if as_percent and value is not None else plain(value, missing="unset")  # type: ignore[arg-type]
    return f"{key.split('.', 1)[1]} {text} ({'explicit' if key in keys else 'default'})"


def _write(missing: list[str], *, where: str = "[risk]") -> str:
    names = ", ".join(key.split(".", 1)[1] for key in missing)
    return f"write {names} under {where} in the config: live trading takes no default"


def _heat(spec: BotSpec, configured: Mapping[str, object], keys: frozenset[str],
          need: LiveRiskRequirements) -> ItemResult:
    value = configured["risk.max_heat"]
    enforced = spec.heat is not None and spec.stop is not None
    problems = []
    if "risk.max_heat" not in keys:
        problems.append(_write([f"risk.max_heat (at most {plain(need.max_heat)})"]))
    elif not need.heat_ok(value):  # type: ignore[arg-type]
        problems.append(f"lower max_heat under [risk] to at most {plain(need.max_heat)}")
    if not enforced:
        problems.append(f"give bot {spec.name} a stop (stop = \"atr\", \"fixed\", \"chandelier\" or \"sar\"): "
                        "heat is the risk to the stops, so without one the heat check does not run")
    stop = type(spec.stop).__name__ if spec.stop is not None else "none"
    figure = (f"{_shown('risk.max_heat', configured, keys, as_percent=True)}; "
              + (f"enforced (stop {stop})" if enforced else "not enforced (the bot has no stop)"))
    return _item("portfolio heat cap", f"risk.max_heat set explicitly, at most {percent(need.max_heat)} of equity, "
                 "and checked on every entry of the bot", figure, problems)


def _sizing(spec: BotSpec, configured: Mapping[str, object], need: LiveRiskRequirements) -> ItemResult:
    chosen = str(configured["bot.sizing"])
    sizing = spec.sizing
    if isinstance(sizing, VolatilitySizing):
        figure = (f"volatility: {percent(sizing.risk_fraction)} of equity to a stop {plain(sizing.atr_multiple)} ATRs "
                  f"away, at most {percent(sizing.max_fraction)} of equity")
    elif isinstance(sizing, FractionalKelly):
        figure = (f"kelly: {plain(sizing.kelly_fraction)} of the Kelly bet, capped at {percent(sizing.cap)}, "
                  f"{type(sizing.fallback).__name__} until {sizing.min_trades} round trips")
    elif isinstance(sizing, FixedFraction):
        figure = f"fixed: {percent(sizing.fraction)} of equity per position"
    else:
        figure = type(sizing).__name__
    problems = [] if chosen in need.sizings else [
        f"set sizing = \"volatility\" (or \"kelly\") in the [[bots]] table of {spec.name}: a fixed size ignores "
        "both the market's volatility and the strategy's edge"]
    return _item("position sizing", " or ".join(need.sizings) + " sizing configured for the bot", figure, problems)


def _drawdown(spec: BotSpec, configured: Mapping[str, object], keys: frozenset[str], need: LiveRiskRequirements,
              run: _Once | None) -> ItemResult:
    name = "drawdown breaker"
    requirement = ("drawdown_warning and drawdown_limit set explicitly, and the crash replay of this configuration "
                   "HALTS the bot at the limit")
    breaker = spec.drawdown
    if breaker is None:
        return _item(name, requirement, "off (risk.drawdown_breaker = false)",
                     ["set drawdown_breaker = true under [risk], with drawdown_warning and drawdown_limit"])

    def shown(replay: CrashReplay) -> tuple[str, str]:
        trip = replay.drawdown_halt
        if trip is not None:
            return (f"HALTED at {_where(trip, replay)}, drawdown {percent(trip.drawdown)} from the peak "
                    f"(equity {money(trip.equity)} vs {money(trip.peak)})", "")
        worst = replay.deepest
        return (f"not tripped, deepest drawdown {percent(worst.drawdown)} at {_where(worst, replay)}",
                _untripped(replay, what="drawdown_limit", worst=worst.drawdown, limit=breaker.limit,
                           also=" (and drawdown_warning below it)"))

    figure = ", ".join(_shown(k, configured, keys, as_percent=True) for k in need.drawdown_keys)
    return _replayed(name, requirement, figure, need.missing(need.drawdown_keys, explicit=keys), run, shown)


def _daily_loss(spec: BotSpec, configured: Mapping[str, object], keys: frozenset[str], need: LiveRiskRequirements,
                run: _Once | None) -> ItemResult:
    name = "daily loss limit"
    requirement = ("daily_loss_percent (and daily_loss_amount, if used) set explicitly, and the crash replay of this "
                   "configuration trips it")
    limit = spec.daily_loss
    if limit is None:
        return _item(name, requirement, "off", ["write daily_loss_percent under [risk]"])

    def shown(replay: CrashReplay) -> tuple[str, str]:
        trip = replay.daily_loss
        if trip is not None:
            return (f"tripped at {_where(trip, replay)}, session loss {money(trip.session_loss)} "
                    f"({percent(trip.session_loss_fraction)} of {money(trip.session_start)})", "")
        worst = replay.worst_session
        return (f"not tripped, worst session loss {percent(worst.session_loss_fraction)} at {_where(worst, replay)}",
                _untripped(replay, what="daily_loss_percent", worst=worst.session_loss_fraction,
                           limit=limit.max_loss_percent, also=""))

    in_force = tuple(k for k in need.daily_loss_keys if configured.get(k) is not None)
    figure = ", ".join(_shown(k, configured, keys, as_percent=k.endswith("percent")) for k in in_force)
    return _replayed(name, requirement, figure, need.missing(in_force, explicit=keys), run, shown)


def _replayed(name: str, requirement: str, figure: str, missing: list[str], run: _Once | None,
              shown: Callable[[CrashReplay], tuple[str, str]]) -> ItemResult:
    """A limit's item: its settings (explicit or not), then what it did on the crash replay."""
    problems = [_write(missing)] if missing else []
    replay, failure = run() if run is not None else (None, "no limit to replay")
    if replay is None:
        return _item(name, requirement, figure, [*problems, f"the crash replay could not run: {failure}"])
    what, problem = shown(replay)
    return _item(name, requirement, f"{figure}; crash replay: {what}", problems + [problem] if problem else problems)


def _hard_limits(configured: Mapping[str, object], keys: frozenset[str], need: LiveRiskRequirements) -> ItemResult:
    figure = ", ".join(_shown(k, configured, keys, as_percent=k.endswith("exposure")) for k in need.hard_limit_keys)
    missing = need.missing(need.hard_limit_keys, explicit=keys)
    return _item("hard position and order limits", "max_order_quantity, max_order_notional (per order) and "
                 "max_gross_exposure (the bot's positions) set explicitly", figure, [_write(missing)] if missing else [])


def _where(trip: Trip, replay: CrashReplay) -> str:
    return (f"bar {trip.bar} of {replay.bars} ({trip.at:%Y-%m-%d %H:%M}Z; the crash began at bar "
            f"{replay.crash_bar})")


def _untripped(replay: CrashReplay, *, what: str, worst: object, limit: object, also: str) -> str:
    if not replay.held_at_crash:
        return (f"the bot held no position when the crash began (bar {replay.crash_bar} of {replay.scenario}): its "
                "strategy did not enter during the trend before it, so the replay cannot show the limit working")
    shown = percent(limit) if limit is not None else "the amount set"  # type: ignore[arg-type]
    return (f"the crash lost at most {percent(worst)} ({replay.scenario}) and {what} {shown} never tripped: "  # type: ignore[arg-type]
            f"set {what} under [risk] below {percent(worst)}{also}, so the limit acts before such a loss is over")


class _Once:
    """The replay, run at most once for the two items that need it; its failure is their figure."""

    def __init__(self, replay: CrashReplayer) -> None:
        self._replay = replay
        self._result: tuple[CrashReplay | None, str] | None = None

    def __call__(self) -> tuple[CrashReplay | None, str]:
        if self._result is None:
            try:
                self._result = (self._replay(), "")
            except (QuantShiftError, ValueError) as exc:
                self._result = (None, str(exc))
        return self._result
