"""A backtest report as ONE self-contained HTML file (inline CSS and SVG, no script, no network),
and the trade list as trades.csv.

The report can be mailed, archived or opened offline years later and still look the same; that
is why nothing in it is fetched. The figures are computed by domain.analytics.metrics; this module only lays
them out.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Protocol

import numpy as np

from adapters.reports.svg import line_chart, x_ticks
from domain import display
from domain.analytics.metrics import as_datetime64, monthly_returns

TRADE_COLUMNS = ("symbol", "entry_time", "exit_time", "side", "quantity", "entry_price", "exit_price", "pnl", "return")
TRADES_SHOWN = 500  # rows in the HTML; trades.csv has them all
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Which metrics read as percentages, money or counts; anything else is a ratio.
PERCENT = {"total_return", "cagr", "annual_volatility", "max_drawdown", "win_rate", "expectancy_return",
           "exposure", "risk_free_rate", "annual_return"}
MONEY = {"expectancy", "average_win", "average_loss"}
LABELS = {
    "bars": "Bars", "periods_per_year": "Periods per year", "risk_free_rate": "Risk-free rate (annual)",
    "total_return": "Total return", "cagr": "CAGR", "annual_volatility": "Annual volatility", "sharpe": "Sharpe",
    "sortino": "Sortino", "calmar": "Calmar", "max_drawdown": "Max drawdown",
    "max_drawdown_bars": "Longest drawdown (bars)", "max_drawdown_seconds": "Longest drawdown (time)",
    "trades": "Trades", "win_rate": "Win rate", "profit_factor": "Profit factor",
    "expectancy": "Expectancy per trade", "expectancy_return": "Expectancy per trade (return)",
    "average_win": "Average win", "average_loss": "Average loss", "payoff_ratio": "Payoff ratio",
    "exposure": "Exposure",
}


class ReportTrade(Protocol):
    """A closed round trip as the report reads it (application.research.backtest.TradeRow is one)."""

    symbol: str
    entry_time: datetime
    exit_time: datetime
    side: str
    quantity: Decimal | float
    entry_price: Decimal | float
    exit_price: Decimal | float
    pnl: Decimal | float

    @property
    def ret(self) -> float: ...


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;
color:#1d2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.sub{color:#667}table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:3px 9px;border-bottom:1px solid #eef;text-align:right}th{background:#f5f6fa}
td:first-child,th:first-child{text-align:left}.pass{color:#137333;font-weight:600}.fail{color:#b3261e;font-weight:600}
.chart{display:block;max-width:100%;height:auto}
.risk{border:2px solid #b3261e;background:#fdf0ef;padding:4px 12px;margin:12px 0}.risk p{margin:6px 0}
.monthly td{min-width:46px}.cols{display:flex;gap:40px;flex-wrap:wrap}
"""


def write_html_report(
    *,
    path: Path,
    title: str,
    timestamps: np.ndarray | Sequence[datetime],
    equity: np.ndarray,
    drawdown: np.ndarray,
    fills: Sequence[tuple[int, str, float, float]],
    trades: Sequence[ReportTrade],
    metrics: Mapping[str, float | int | str | None],
    targets: Sequence[tuple[str, str, float | None, bool]],
    params: Mapping[str, object],
    bars: int | None = None,
    risk_summary: Sequence[str] = (),
    state_changes: Sequence[tuple[datetime, str, str, str]] = (),
) -> None:
    """Write the report. fills are (bar index, side, quantity, price); metrics is Metrics.to_json();
    targets are Metrics.targets() (name, requirement, value, passed). bars: the bars the backtest
    read (the CLI's figure); the curve has one point more, the starting capital's mark.
    risk_summary lines go at the top (denials per check, a state a bot ended in);
    state_changes are (time, bot, state, reason)."""
    times = as_datetime64(timestamps)
    curve = np.asarray(equity, dtype=np.float64)
    under = np.asarray(drawdown, dtype=np.float64)
    if not (len(times) == len(curve) == len(under)) or len(curve) == 0:
        raise ValueError(f"timestamps, equity and drawdown must be non-empty and equally long, "
                         f"got {len(times)}, {len(curve)}, {len(under)}")
    unit = "D" if len(times) < 2 or times[-1] - times[0] > np.timedelta64(20, "D") else "m"
    labels = np.datetime_as_string(times, unit=unit)
    ticks = [(i, escape(str(text).replace("T", " "))) for i, text in x_ticks(labels)]
    markers = [(int(i), float(curve[int(i)]), _side(side)) for i, side, _qty, _price in fills]
    money_format = (lambda v: f"{v:,.0f}") if float(np.ptp(curve)) >= 50 else (lambda v: f"{v:,.2f}")
    # A trading-state change is marked where it happened, on both charts.
    events = [(int(np.searchsorted(times, as_datetime64([ts])[0])), f"{bot} {state.upper()}: {reason}")
              for ts, bot, state, reason in state_changes]
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{escape(str(labels[0]))} to {escape(str(labels[-1]))} UTC, {(len(curve) if bars is None else bars):,} bars, '
        f"{len(fills):,} fills, {len(trades):,} trades</p>",
        *_risk_notice(risk_summary, state_changes),
        "<h2>Equity</h2>",
        line_chart(values=curve, x_labels=ticks, y_format=money_format, css_class="equity", markers=markers,
                   events=events),
        "<h2>Drawdown</h2>",
        line_chart(values=under, x_labels=ticks, y_format=lambda v: f"{v:.0%}", css_class="drawdown",
                   colour="#b3261e", area=True, events=events),
        '<div class="cols"><div>',
        "<h2>Metrics</h2>", _metrics_table(metrics),
        "</div><div>",
        "<h2>Production targets</h2>", _targets_table(targets),
        "<h2>Parameters</h2>", _params_table(params),
        "</div></div>",
        "<h2>Monthly returns</h2>", _monthly_table(monthly_returns(times, curve)),
        "<h2>Trades</h2>", _trades_table(trades),
        # The figures again, machine-readable, for whoever scrapes an archived report.
        f'<script type="application/json" id="metrics">{_json_for_html(metrics)}</script>',
    ]
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    Path(path).write_text(page, encoding="utf-8")


def _risk_notice(summary: Sequence[str], changes: Sequence[tuple[datetime, str, str, str]]) -> list[str]:
    """What the risk controls did, above the figures it changes: the summary, then every change
    of a bot's trading state with its time and reason."""
    out = []
    if summary:
        out.append('<div class="risk" id="risk-summary">' + "".join(f"<p>{escape(line)}</p>" for line in summary)
                   + "</div>")
    if changes:
        rows = "".join(f"<tr><td>{escape(_time(ts))}</td><td>{escape(bot)}</td><td>{escape(state.upper())}</td>"
                       f"<td>{escape(reason)}</td></tr>" for ts, bot, state, reason in changes)
        out.append('<h2>Trading state changes</h2><table id="state-changes"><tr><th>time (UTC)</th><th>bot</th>'
                   f"<th>state</th><th>why</th></tr>{rows}</table>")
    return out


def write_trade_list(path: Path, trades: Sequence[ReportTrade]) -> None:
    """trades.csv, one closed trade a row; numbers as written (Decimal stays exact)."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRADE_COLUMNS)
        for t in trades:
            writer.writerow([t.symbol, _time(t.entry_time), _time(t.exit_time), t.side, t.quantity, t.entry_price,
                             t.exit_price, t.pnl, repr(float(t.ret))])


def _side(side: object) -> str:
    text = str(getattr(side, "value", side)).lower()
    return "buy" if text.startswith("b") else "sell"


def _time(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def format_metric(name: str, value: float | int | str | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value  # "inf" / "-inf"
    if name == "max_drawdown_seconds":
        return _duration(float(value))
    if name in PERCENT:
        return display.percent(value)
    if isinstance(value, int):
        return f"{value:,}"
    if name in MONEY:
        return display.money(value)
    return display.ratio(value)


def _duration(seconds: float) -> str:
    days, rest = divmod(int(round(seconds)), 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    return f"{hours} h {rest // 60} min"


def _metrics_table(metrics: Mapping[str, float | int | str | None]) -> str:
    rows = "".join(f'<tr><td>{escape(LABELS.get(k, k))}</td><td data-key="{escape(k)}">'
                   f"{escape(format_metric(k, v))}</td></tr>" for k, v in metrics.items())
    return f'<table class="metrics">{rows}</table>'


def _targets_table(targets: Sequence[tuple[str, str, float | None, bool]]) -> str:
    rows = []
    for name, requirement, value, passed in targets:
        infinite = value is not None and not math.isfinite(value)
        shown = format_metric(name, ("inf" if value > 0 else "-inf") if infinite else value)
        verdict = '<td class="pass">PASS</td>' if passed else '<td class="fail">FAIL</td>'
        rows.append(f"<tr><td>{escape(requirement)}</td><td>{escape(shown)}</td>{verdict}</tr>")
    return ('<table class="targets"><tr><th>target</th><th>value</th><th>result</th></tr>'
            + "".join(rows) + "</table>")


def _params_table(params: Mapping[str, object]) -> str:
    # A setting left out (None) is no limit: "unlimited", never Python's "None".
    rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(display.setting(v))}</td></tr>"
                   for k, v in params.items())
    return f'<table class="params">{rows or "<tr><td>none</td></tr>"}</table>'


def _monthly_table(months: Mapping[tuple[int, int], float]) -> str:
    """Year x month heat table; the year column compounds the year's months."""
    if not months:
        return "<p>no data</p>"
    scale = max(max(abs(v) for v in months.values()), 1e-12)
    head = "<tr><th>year</th>" + "".join(f"<th>{m}</th>" for m in MONTHS) + "<th>year</th></tr>"
    rows = []
    for year in sorted({y for y, _ in months}):
        cells, growth = [], 1.0
        for month in range(1, 13):
            value = months.get((year, month))
            if value is None:
                cells.append("<td></td>")
                continue
            growth *= 1.0 + value
            alpha = min(abs(value) / scale, 1.0) * 0.55 + 0.05
            colour = f"rgba(19,115,51,{alpha:.2f})" if value >= 0 else f"rgba(179,38,30,{alpha:.2f})"
            cells.append(f'<td data-month="{year}-{month:02d}" style="background:{colour}">{value:.2%}</td>')
        rows.append(f"<tr><td>{year}</td>{''.join(cells)}<td><b>{growth - 1.0:.2%}</b></td></tr>")
    return f'<table class="monthly">{head}{"".join(rows)}</table>'


def _trades_table(trades: Sequence[ReportTrade]) -> str:
    if not trades:
        return "<p>no closed trades</p>"
    head = "".join(f"<th>{c}</th>" for c in TRADE_COLUMNS)
    rows = "".join(
        f"<tr><td>{escape(t.symbol)}</td><td>{escape(_time(t.entry_time))}</td><td>{escape(_time(t.exit_time))}</td>"
        f"<td>{escape(str(t.side))}</td><td>{escape(display.quantity(t.quantity))}</td>"
        f"<td>{escape(display.price(t.entry_price))}</td><td>{escape(display.price(t.exit_price))}</td>"
        f"<td>{display.money(t.pnl)}</td><td>{display.percent(t.ret)}</td></tr>"
        for t in trades[:TRADES_SHOWN])
    note = (f'<p class="sub">first {TRADES_SHOWN:,} of {len(trades):,} trades; trades.csv has them all</p>'
            if len(trades) > TRADES_SHOWN else "")
    return f'{note}<table class="trades"><tr>{head}</tr>{rows}</table>'


def _json_for_html(data: Mapping[str, object]) -> str:
    return json.dumps(dict(data), allow_nan=False).replace("</", "<\\/")
