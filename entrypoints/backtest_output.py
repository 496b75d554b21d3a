"""What a backtest prints and writes: the metrics table with the production targets,
`--json`, and with `--report DIR` the HTML report, trades.csv and fills.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import attrs
import numpy as np
from rich.console import Console
from rich.markup import escape

from application.research.backtest import BacktestResult
from domain import display
from domain.analytics.metrics import Metrics, compute_metrics, drawdown_series
from domain.errors import OutputFileError
from entrypoints.cli.output import money, print_json, print_table


def result_metrics(result: BacktestResult, *, calendar: str) -> Metrics:
    """Metrics over the curve that starts at the initial capital (one mark before the first bar)."""
    times, equity = _curve_with_start(result)
    held = np.concatenate(([False], result.exposure)) if len(result.exposure) else None
    metrics = compute_metrics(
        equity=equity, timestamps=times, calendar=calendar,  # type: ignore[arg-type]
        trade_pnl=np.asarray([float(t.pnl) for t in result.trades], dtype=np.float64),
        trade_returns=np.asarray([t.ret for t in result.trades], dtype=np.float64),
        position_held=held,
    )
    # One bar count everywhere (table, JSON, report): the bars read, not the curve's points (one
    # more: the starting capital's mark before the first bar).
    return attrs.evolve(metrics, bars=result.bars)


def _curve_with_start(result: BacktestResult) -> tuple[np.ndarray, np.ndarray]:
    times, equity = result.equity_times, result.equity
    if len(times) == 0:
        return np.asarray([np.datetime64(0, "ns")]), np.asarray([float(result.initial_equity)])
    step = (times[1] - times[0]) if len(times) > 1 else np.timedelta64(1, "s")
    start = np.asarray([times[0] - step], dtype="datetime64[ns]")
    return np.concatenate((start, times)), np.concatenate(([float(result.initial_equity)], equity))


def result_json(result: BacktestResult, metrics: Metrics) -> dict[str, object]:
    return {
        # First: what the risk controls did (denials per check, states a bot ended in).
        "risk": {"summary": list(result.risk_summary), "denied_by": dict(result.denied_by),
                 "events": list(result.risk_events),
                 "state_changes": [{"ts": c.ts.isoformat(), "bot": c.bot, "state": c.state, "reason": c.reason}
                                   for c in result.state_changes]},
        "engine": result.engine,
        "bars": result.bars,
        "orders": result.orders,
        "orders_denied": result.orders_denied,
        "fills": len(result.fills),
        "round_trips": len(result.trades),
        "open_positions": result.open_positions,
        "initial_equity": str(result.initial_equity),
        "final_equity": str(result.final_equity),
        "elapsed_s": round(result.elapsed_s, 6),
        "bars_per_s": round(result.bars / result.elapsed_s) if result.elapsed_s > 0 else None,
        "metrics": metrics.to_json(),
        "targets": [{"name": t.name, "requirement": t.requirement, "value": t.value, "passed": t.passed}
                    for t in metrics.targets()],
        # The closed trades as trades.csv has them (each names its bot and symbol), exact strings.
        "trades": [{"bot": t.bot, "symbol": t.symbol, "side": t.side, "quantity": str(t.quantity),
                    "entry_time": t.entry_time.isoformat(), "exit_time": t.exit_time.isoformat(),
                    "entry_price": str(t.entry_price), "exit_price": str(t.exit_price), "pnl": str(t.pnl)}
                   for t in result.trades],
    }


def show_result(result: BacktestResult, *, calendar: str, json_output: bool, report: Path | None, title: str,
                params: dict[str, object]) -> None:
    """Printed first, then written: a report that cannot be written never loses the figures."""
    metrics = result_metrics(result, calendar=calendar)
    if json_output:
        print_json(result_json(result, metrics))
        _write_report_after_printing(result, metrics, directory=report, title=title, params=params)
        return
    console = Console()
    for line in result.risk_summary:  # before the figures: they read differently with it
        console.print(f"[bold red]RISK[/] {escape(line)}")
    m = metrics
    pct = display.percent
    _num = display.ratio
    print_table(f"Backtest: {title} ({result.engine} engine, {result.bars:,} bars in {result.elapsed_s:.2f} s)",
                ["figure", "value"], [
        ("orders / denied by risk", f"{result.orders} / {result.orders_denied}"), ("fills", len(result.fills)),
        ("round trips", len(result.trades)), ("open positions", result.open_positions),
        ("equity start / end", f"{money(result.initial_equity)} / {money(result.final_equity)}"),
        ("total return", pct(m.total_return)), ("CAGR", pct(m.cagr)), ("annual volatility", pct(m.annual_volatility)),
        ("Sharpe / Sortino / Calmar", f"{_num(m.sharpe)} / {_num(m.sortino)} / {_num(m.calmar)}"),
        ("max drawdown (duration)", f"{pct(m.max_drawdown)} ({m.max_drawdown_duration or f'{m.max_drawdown_bars} bars'})"),
        ("win rate", pct(m.win_rate)), ("profit factor", _num(m.profit_factor)),
        ("expectancy per trade", _num(m.expectancy)), ("average win / loss", f"{_num(m.average_win)} / {_num(m.average_loss)}"),
        ("exposure", pct(m.exposure)),
    ], console=console)
    print_table("Production targets", ["target", "value", "result"], [
        (t.requirement, "n/a" if t.value is None else _num(t.value), "PASS" if t.passed else "FAIL")
        for t in metrics.targets()
    ], console=console)
    if result.denied_by or result.risk_events:
        console.print("What the risk controls did: " + (", ".join(
            f"{n} denied by {check}" for check, n in sorted(result.denied_by.items())) or "no denials"))
        for line in result.risk_events:
            console.print(f"  {line}")
    if report is not None:
        _write_report_after_printing(result, metrics, directory=report, title=title, params=params)
        console.print(f"report: {report / 'report.html'}")


def _write_report_after_printing(result: BacktestResult, metrics: Metrics, *, directory: Path | None, title: str,
                                 params: dict[str, object]) -> None:
    if directory is None:
        return
    try:
        write_report(result, metrics, directory=directory, title=title, params=params)
    except OSError as exc:
        raise OutputFileError(f"--report {directory}: the report was not written ({exc.strerror or exc}); "
                              "the results are printed above") from None


REPORT_FILES = ("report.html", "trades.csv", "fills.csv")


def write_report(result: BacktestResult, metrics: Metrics, *, directory: Path, title: str,
                 params: dict[str, object]) -> None:
    from adapters.reports.html_report import write_html_report, write_trade_list

    directory.mkdir(parents=True, exist_ok=True)
    times, equity = _curve_with_start(result)
    bar_of = np.searchsorted(times, np.asarray([np.datetime64(f.ts.replace(tzinfo=None), "ns") for f in result.fills],
                                               dtype="datetime64[ns]")) if result.fills else np.zeros(0, dtype=int)
    write_html_report(
        path=directory / "report.html", title=title, timestamps=times, equity=equity,
        drawdown=drawdown_series(equity),
        fills=[(int(min(i, len(times) - 1)), f.side, float(f.quantity), float(f.price)) for i, f in zip(bar_of, result.fills)],
        trades=result.trades, metrics=metrics.to_json(), targets=metrics.targets(), params=params,
        bars=result.bars,
        risk_summary=result.risk_summary,
        state_changes=[(c.ts, c.bot, c.state, c.reason) for c in result.state_changes],
    )
    write_trade_list(directory / "trades.csv", result.trades)
    with (directory / "fills.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ts", "symbol", "side", "quantity", "price", "fee"])
        for f in result.fills:
            writer.writerow([f.ts.isoformat(), f.symbol, f.side, f.quantity, f.price, f.fee])
