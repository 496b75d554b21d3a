"""`quantshift backtest`: a strategy (or the configured bots) over historical bars.

Two engines, one set of rules. "event" runs the bars through a PaperSession over a
throw-away store: the trading cycle, risk engine and simulated venue of paper trading.
"fast" runs a single-symbol strategy's vectorised targets through the compiled kernel
(adapters/fast_backtest), held to the event engine by a parity test; it takes only
what it models (risk off, market orders, no stops, no volume cap). "auto" picks fast
when it can.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import attrs
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from adapters.clock import SystemClock
from adapters.log_notifier import LoggingNotifier
from adapters.marketdata.array_feed import bar_interval, bars_from_arrays
from adapters.marketdata.merge import merge_bars
from adapters.marketdata.ohlcv_arrays import OhlcvArrays, load_ohlcv
from adapters.simulated import (
    MakerTaker,
    MarketFill,
    NoCommission,
    PerNotional,
    PerShare,
    SimulatedBrokerConfig,
    build_simulated_broker,
)
from application.research.backtest import BacktestResult, run_event_backtest
from application.trading.bot import BotSpec
from domain.accounting.instrument import AssetClass, Instrument
from domain.errors import ConfigurationError
from domain.orders.order import OrderSide
from domain.risk.position_sizing import FractionalKelly, VolatilitySizing
from domain.risk.risk import RiskLimits
from domain.risk.sizing import AllIn, FixedFraction
from domain.symbols import asset_class_of, check_symbol
from entrypoints.backtest_output import REPORT_FILES, show_result
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, container_for, setup_logging
from entrypoints.cli.output_files import ForceOption, prepare_directory
from entrypoints.container import build_store, risk_limits
from entrypoints.settings import LARGEST_SETTING
from entrypoints.strategies import build_strategy

def backtest(
    data: Annotated[list[str], typer.Option("--data", help="OHLCV file (.csv or .parquet: timestamp,open,high,low,close,volume), as PATH or SYMBOL=PATH; repeat for several symbols.")],
    strategy: Annotated[str | None, typer.Option("--strategy", help="A built-in strategy (quantshift strategy list) or path/to/file.py:Class. Without it, the bots of --config run.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="A strategy parameter, k=v (repeatable).")] = None,
    cash: Annotated[float, typer.Option("--cash", help="Starting cash (at most 1e12).", min=1, max=LARGEST_SETTING)] = 100_000.0,
    commission: Annotated[str, typer.Option("--commission", help="none | per-share[:RATE[:MIN]] | bps:N | maker-taker:MAKER:TAKER (market orders pay the taker rate).")] = "none",
    slippage: Annotated[float, typer.Option("--slippage", help="Slippage in basis points, against the taker.", min=0, max=1000)] = 0.0,
    impact: Annotated[float, typer.Option("--impact", help="Square-root market impact coefficient K: K x sqrt(fill / bar volume) on top of --slippage (0.1 is a common start).", min=0, max=10)] = 0.0,
    fill: Annotated[str, typer.Option("--fill", help="next-open (decided at a close, filled at the next open) or close.")] = "next-open",
    sizing: Annotated[str, typer.Option("--sizing", help="all-in (all cash, whole units, sized at the fill) | fixed-fraction[:F] (F of equity, default 0.95) | volatility[:RISK] (RISK of equity to a 2-ATR stop, default 0.01) | kelly[:FRACTION] (fractional Kelly from the recent trips, default 0.5, capped at 25 %).")] = "all-in",
    risk: Annotated[str, typer.Option("--risk", help="off (default): the strategy alone, only buying power checked; on: the configured risk engine, limits and breakers (what they would have done is reported).")] = "off",
    engine: Annotated[str, typer.Option("--engine", help="auto | event | fast.")] = "auto",
    asset_class: Annotated[str, typer.Option("--asset-class", help="auto (crypto for SYMBOL-USD style pairs) | equity | crypto.")] = "auto",
    max_volume_share: Annotated[float | None, typer.Option("--max-volume-share", help="Largest share of a bar's volume an order may fill, partial fills beyond (default: no cap, as the peer engines).", min=0.0001, max=1)] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write report.html, trades.csv and fills.csv into this directory.")] = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Backtest over historical bars through the same engine as paper trading; prints the
    metrics (and writes an HTML report with --report)."""
    setup_logging(verbose=False)
    with cli_errors():
        plan = plan_backtest(data=data, strategy=strategy, param=param or [], cash=cash, commission=commission,
                             slippage=slippage, fill=fill, sizing=sizing, risk=risk, engine=engine,
                             asset_class=asset_class, max_volume_share=max_volume_share, config=config,
                             impact=impact)
        if report is not None:  # before the run: a bad path must not cost the results
            prepare_directory(report, option="--report", names=REPORT_FILES, force=force)
        result = run_plan(plan, show_progress=not json_output)
        show_result(result, calendar=plan.calendar, json_output=json_output,
                    report=report, title=plan.title, params=plan.params_shown)


@attrs.frozen(kw_only=True)
class BacktestPlan:
    """Everything a backtest run needs, checked and built from the command's options
    (shared with the research commands, which run it on windows with other parameters)."""

    files: dict[str, OhlcvArrays]
    instruments: dict[str, Instrument]
    bots: list[BotSpec]
    broker_config: SimulatedBrokerConfig
    engine: str
    risk_on: bool
    allocation: object
    title: str
    params_shown: dict[str, object]

    @property
    def calendar(self) -> str:
        """The metrics' annualisation calendar: crypto trades every day, equities on sessions."""
        return "crypto" if all(i.asset_class is AssetClass.CRYPTO for i in self.instruments.values()) else "equity"


def plan_backtest(*, data: list[str], strategy: str | None, param: list[str], cash: float, commission: str,
                  slippage: float, fill: str, sizing: str, risk: str, engine: str, asset_class: str,
                  max_volume_share: float | None, config: Path | None, impact: float = 0.0) -> BacktestPlan:
    if fill not in ("next-open", "close"):
        raise ConfigurationError(f"--fill {fill!r}: use next-open or close")
    if risk not in ("on", "off"):
        raise ConfigurationError(f"--risk {risk!r}: use on or off")
    if engine not in ("auto", "event", "fast"):
        raise ConfigurationError(f"--engine {engine!r}: use auto, event or fast")
    if asset_class not in ("auto", "equity", "crypto"):
        raise ConfigurationError(f"--asset-class {asset_class!r}: use auto, equity or crypto")
    container = container_for(config) if strategy is None else container_for(config, require_bots=False)
    files = _load_files(data, asset_class=asset_class, now=container.clock().now())
    settings = container.settings()
    instruments = {symbol: _instrument(symbol, arrays, asset_class=asset_class) for symbol, arrays in files.items()}
    fill_model = MarketFill.NEXT_OPEN if fill == "next-open" else MarketFill.THIS_CLOSE
    commission_model = _commission(commission)
    broker_config = SimulatedBrokerConfig(market_fill=fill_model, slippage_bps=Decimal(repr(slippage)),
                                          max_volume_share=None if max_volume_share is None else Decimal(repr(max_volume_share)),
                                          impact_coefficient=Decimal(repr(impact)),
                                          equity_commission=commission_model, crypto_commission=commission_model)
    risk_on = risk == "on"
    limits = risk_limits(settings) if risk_on else RiskLimits.permissive()
    params_shown: dict[str, object] = {"cash": cash, "commission": commission, "slippage_bps": slippage, "fill": fill,
                                       "sizing": sizing, "risk": risk, "max_volume_share": max_volume_share,
                                       "impact": impact}
    if strategy is not None:
        params = dict(parse_param(p) for p in param)
        built = build_strategy(strategy, params=params, where="--strategy")
        bots = [BotSpec(name="backtest", instruments=instruments, strategy=built,
                        sizing=_sizing(sizing, broker_config=broker_config), capital=Decimal(repr(cash)),
                        limits=limits, **(_loss_limits(container) if risk_on else {}))]
        title = f"{strategy} on {', '.join(files)}"
        params_shown.update({"strategy": strategy, **params})
    else:
        if param:
            raise ConfigurationError("--param needs --strategy (the configured bots take their params from --config)")
        bots = []
        for spec in container.bots():
            missing = sorted(set(spec.instruments) - set(files))
            if missing:
                raise ConfigurationError(f"--data: no file for {', '.join(missing)} traded by bot {spec.name}")
            bots.append(attrs.evolve(spec, instruments={s: instruments[s] for s in spec.instruments}, limits=limits,
                                     **({} if risk_on else {"drawdown": None, "daily_loss": None, "heat": None,
                                                            "correlation": None, "sectors": None})))
        title = f"bots {', '.join(b.name for b in bots)} on {', '.join(files)}"
        params_shown["config"] = str(config) if config else "defaults"
    return BacktestPlan(files=files, instruments=instruments, bots=bots, broker_config=broker_config, engine=engine,
                        risk_on=risk_on, allocation=container.allocation() if strategy is None else None, title=title,
                        params_shown=params_shown)


def run_plan(plan: BacktestPlan, *, show_progress: bool) -> BacktestResult:
    # Imported here: the compiled kernel pulls in numba (a third of a second), which every other
    # `quantshift` command (each test spawns many) would otherwise pay at start.
    from entrypoints.backtest_engines import fast_backtest_eligible, run_fast_backtest

    eligible, why = fast_backtest_eligible(bots=plan.bots, broker_config=plan.broker_config, risk_on=plan.risk_on,
                                           allocation=plan.allocation)
    if plan.engine == "fast" and not eligible:
        raise ConfigurationError(f"--engine fast: {why}; use --engine event (or auto)")
    if plan.engine != "event" and eligible:
        [(symbol, arrays)] = plan.files.items()
        return run_fast_backtest(bot=plan.bots[0], arrays=arrays, instrument=plan.instruments[symbol],
                                 broker_config=plan.broker_config)
    broker = build_simulated_broker(config=plan.broker_config, instruments=plan.instruments)
    total = sum(len(a) for a in plan.files.values())
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="quantshift-backtest-") as directory:
        store = build_store(f"sqlite:///{directory}/backtest.db")
        feeds = [bars_from_arrays(arrays, symbol=symbol, interval=bar_interval(arrays))
                 for symbol, arrays in sorted(plan.files.items())]
        with Progress(TextColumn("[bold]backtest[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, disable=not (show_progress and console.is_terminal)) as progress:
            task = progress.add_task("bars", total=total)
            advance: Callable[[object], None] = lambda _bar: progress.advance(task)  # noqa: E731
            result = run_event_backtest(
                bots=plan.bots, bars=merge_bars(feeds), broker=broker, venue=broker, uow_factory=store,
                clock=SystemClock(), notifier=LoggingNotifier(), account="backtest",
                size_at_open=plan.broker_config.market_fill is MarketFill.NEXT_OPEN,
                allocation=plan.allocation, on_bar=advance,  # type: ignore[arg-type]
            )
        store.close()
    return result


def _load_files(data: list[str], *, asset_class: str, now: datetime) -> dict[str, OhlcvArrays]:
    files: dict[str, OhlcvArrays] = {}
    wanted = None if asset_class == "auto" else AssetClass(asset_class)
    for item in data:
        symbol, sep, path = item.partition("=")
        named = bool(sep)
        if not sep:
            symbol, path = Path(item).stem.upper(), item
        if not symbol or not path:
            raise ConfigurationError(f"--data {item!r}: expected PATH or SYMBOL=PATH")
        if not named and not Path(path).is_file():
            load_ohlcv(path, now=now)  # names what the path is instead (a directory, no such file)
        try:
            check_symbol(symbol, asset_class=wanted)
        except ValueError as exc:
            where = "" if named else " (the symbol is the file's name; or give SYMBOL=PATH)"
            option = "" if wanted is None else f" with --asset-class {asset_class}"
            raise ConfigurationError(f"--data {item!r}: {exc}{option}{where}") from None
        if symbol in files:
            raise ConfigurationError(f"--data {item!r}: {symbol} is given twice")
        files[symbol] = load_ohlcv(path, now=now)
    return files


def _instrument(symbol: str, arrays: OhlcvArrays, *, asset_class: str) -> Instrument:
    crypto = asset_class == "crypto" or (asset_class == "auto" and asset_class_of(symbol) is AssetClass.CRYPTO)
    tick = Decimal(repr(arrays.price_tick()))
    if crypto:
        return Instrument(symbol=symbol, asset_class=AssetClass.CRYPTO, tick_size=tick, lot_size=Decimal("0.00000001"))
    return Instrument(symbol=symbol, asset_class=AssetClass.EQUITY, tick_size=tick, lot_size=Decimal(1))


def _commission(text: str):
    kind, *args = text.split(":")
    try:
        numbers = [Decimal(a) for a in args]
    except ArithmeticError:
        raise ConfigurationError(f"--commission {text!r}: the figures after ':' must be numbers") from None
    names = {"per-share": ("rate", "minimum"), "bps": ("bps",), "maker-taker": ("maker", "taker")}.get(kind, ())
    for name, written, number in zip(names, args, numbers):
        # Named as typed (-3), not as the fee model would print it (Decimal('-3')).
        if not number.is_finite() or number < 0:
            raise ConfigurationError(f"--commission {text!r}: {name} {written} must be a number >= 0")
    try:
        match kind, numbers:
            case "none", []:
                return NoCommission()
            case "per-share", []:
                return PerShare(rate=Decimal("0.005"), minimum=Decimal("1.00"), maximum_fraction=Decimal("0.01"))
            case "per-share", [rate]:
                return PerShare(rate=rate, maximum_fraction=Decimal("0.01"))
            case "per-share", [rate, minimum]:
                return PerShare(rate=rate, minimum=minimum, maximum_fraction=Decimal("0.01"))
            case "bps", [bps]:
                return PerNotional(bps=bps)
            case "maker-taker", [maker, taker]:
                return MakerTaker(maker_bps=maker, taker_bps=taker)
    except ValueError as exc:
        raise ConfigurationError(f"--commission {text!r}: {exc}") from exc
    raise ConfigurationError(f"--commission {text!r}: use none, per-share[:RATE[:MIN]], bps:N or maker-taker:MAKER:TAKER")


def _sizing(text: str, *, broker_config: SimulatedBrokerConfig):
    kind, _, arg = text.partition(":")
    if arg:
        try:
            Decimal(arg)
        except ArithmeticError:
            raise ConfigurationError(f"--sizing {text!r}: {arg!r} after ':' is not a number") from None
    if kind == "all-in" and not arg:
        model = broker_config.fill_model()
        fees = broker_config.equity_commission  # one model for both classes in a backtest (--commission)

        def fill_price(price: Decimal, instrument: Instrument, side: OrderSide) -> Decimal:
            return model.taker_price(price, side=side, instrument=instrument)

        return AllIn(fill_price=fill_price, fee=lambda q, p: fees.commission(quantity=q, price=p, liquidity="taker"))
    try:
        if kind == "fixed-fraction":
            return FixedFraction(fraction=Decimal(arg or "0.95"))
        if kind == "volatility":
            # Risk `arg` of equity (default 1 %) to a stop 2 ATRs away, at most all the equity.
            return VolatilitySizing(risk_fraction=Decimal(arg or "0.01"), atr_multiple=Decimal(2),
                                    max_fraction=Decimal(1))
        if kind == "kelly":
            # `arg` of the Kelly bet (default half), capped at 25 %, a fixed 10 % until 20 trips.
            return FractionalKelly(kelly_fraction=Decimal(arg or "0.5"), cap=Decimal("0.25"), min_trades=20,
                                   fallback=FixedFraction(fraction=Decimal("0.1")))
    except (ArithmeticError, ValueError) as exc:
        raise ConfigurationError(f"--sizing {text!r}: {exc}") from None
    raise ConfigurationError(f"--sizing {text!r}: use all-in, fixed-fraction[:F], volatility[:RISK] or kelly[:FRACTION]")


def _loss_limits(container) -> dict[str, object]:
    from entrypoints.container import exposure_limits, loss_limits

    settings = container.settings()
    drawdown, daily = loss_limits(settings)
    _heat, correlation, sectors = exposure_limits(settings)  # heat needs stops: none here
    return {"drawdown": drawdown, "daily_loss": daily, "correlation": correlation, "sectors": sectors}


def parse_param(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigurationError(f"--param {text!r}: expected k=v")
    value: object = raw
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        value = lowered == "true"
    else:
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
    return key.strip(), value
