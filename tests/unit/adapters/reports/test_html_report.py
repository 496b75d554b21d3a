"""The HTML backtest report and trades.csv: one self-contained file that parses, with both charts,
the metrics, the targets and a monthly table whose cells are right for a hand-made curve; nothing
fetched from the network; small for long backtests; the trade list round-trips exactly."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import attrs
import numpy as np
import pytest

from adapters.reports.html_report import write_html_report, write_trade_list
from adapters.reports.svg import downsample
from domain.analytics.metrics import compute_metrics, drawdown_series

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area", "base", "source"}


@attrs.frozen(kw_only=True)
class Trade:
    entry_time: datetime
    exit_time: datetime
    side: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    symbol: str = "SPY"

    @property
    def ret(self) -> float:
        return float(self.pnl / (self.entry_price * self.quantity))


class Page(HTMLParser):
    """Tags with their attributes, the text of each data-month / data-key cell, and tag balance."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.cells: dict[str, str] = {}
        self.text: list[str] = []
        self._cell: str | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag not in VOID:
            self.stack.append(tag)
        self._cell = found.get("data-month") or found.get("data-key")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()
        self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell:
            self.cells[self._cell] = self.cells.get(self._cell, "") + data

    def of(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert not page.errors and not page.stack, (page.errors, page.stack)
    return page


def trades() -> list[Trade]:
    day = datetime(2024, 1, 2, 15, 30)
    rows = [(Decimal("100"), Decimal("110"), Decimal("100")), (Decimal("110"), Decimal("105"), Decimal("-50")),
            (Decimal("105"), Decimal("108"), Decimal("30"))]
    return [Trade(entry_time=day + timedelta(days=10 * k), exit_time=day + timedelta(days=10 * k + 3), side="long",
                  quantity=Decimal("10"), entry_price=e, exit_price=x, pnl=p) for k, (e, x, p) in enumerate(rows)]


def write(path: Path, *, times, equity, fills=(), trade_rows=(), params=None, title="MA crossover <SPY>") -> Page:
    times = np.asarray(times, dtype="datetime64[ns]")
    metrics = compute_metrics(equity=equity, timestamps=times, periods_per_year=252,
                              trade_pnl=[float(t.pnl) for t in trade_rows], trade_returns=[t.ret for t in trade_rows])
    write_html_report(path=path, title=title, timestamps=times, equity=equity, drawdown=drawdown_series(equity),
                      fills=list(fills), trades=list(trade_rows), metrics=metrics.to_json(),
                      targets=metrics.targets(), params=params or {"fast": 10, "slow": 50})
    return parse(path)


# Month ends of a hand-made curve: Jan +10 %, Feb -10 %, Mar nothing, Apr +50 % over Feb's end.
HAND_TIMES = ["2024-01-02", "2024-01-15", "2024-01-31", "2024-02-12", "2024-02-29", "2024-04-01", "2024-04-30"]
HAND_EQUITY = np.array([1000.0, 1050.0, 1100.0, 1000.0, 990.0, 1200.0, 1485.0])


def test_report_has_the_charts_metrics_targets_and_monthly_table(tmp_path):
    page = write(tmp_path / "report.html", times=HAND_TIMES, equity=HAND_EQUITY, trade_rows=trades(),
                 fills=[(0, "buy", 10.0, 100.0), (2, "sell", 10.0, 110.0), (3, "buy", 10.0, 110.0)])
    charts = [a["class"] for a in page.of("svg")]
    assert charts == ["chart equity", "chart drawdown"]
    assert len(page.of("polyline")) == 2
    paths = [a.get("class") for a in page.of("path")]
    assert {"marker buy", "marker sell", "area"} <= set(paths)

    # Monthly table: compounded within each month; March had no bar.
    assert page.cells["2024-01"] == "10.00%"  # 1100 / 1000
    assert page.cells["2024-02"] == "-10.00%"  # 990 / 1100
    assert page.cells["2024-04"] == "50.00%"  # 1485 / 990
    assert "2024-03" not in page.cells
    assert "48.50%" in "".join(page.text)  # the year: 1.1 * 0.9 * 1.5 - 1

    # The metrics as computed, formatted; trades +100, -50, +30.
    assert page.cells["win_rate"] == "66.67%"
    assert page.cells["profit_factor"] == "2.60"
    assert page.cells["expectancy"] == "26.67"
    assert page.cells["total_return"] == "48.50%"
    assert page.cells["max_drawdown"] == "10.00%"
    text = "".join(page.text)
    assert text.count("PASS") == 5 and "FAIL" not in text and "win rate > 55 %" in text  # a fine 4 months
    assert "MA crossover <SPY>" in text  # escaped in the file, the same text once parsed
    assert "slow" in text and "50" in text
    embedded = json.loads(next(t for t in page.text if t.startswith('{"bars"')))
    assert embedded["trades"] == 3


def test_undefined_figures_read_n_a_and_fail_their_targets(tmp_path):
    page = write(tmp_path / "report.html", times=HAND_TIMES[:2], equity=np.array([1000.0, 1000.0]))
    assert page.cells["win_rate"] == "n/a" and page.cells["profit_factor"] == "n/a"
    assert "".join(page.text).count("FAIL") == 4  # all but the drawdown, which is 0 %
    assert "no closed trades" in "".join(page.text)


def test_report_is_self_contained(tmp_path):
    write(tmp_path / "report.html", times=HAND_TIMES, equity=HAND_EQUITY, trade_rows=trades(),
          params={"note": "see https://example.com"})  # a user's own text is escaped, not linked
    raw = (tmp_path / "report.html").read_text(encoding="utf-8")
    page = parse(tmp_path / "report.html")
    assert not [a for _, a in page.tags if "src" in a or "href" in a]
    assert not page.of("link") and not page.of("img") and not page.of("iframe")
    assert all(a.get("type") == "application/json" for a in page.of("script"))  # data only, no code
    outside_params = raw.replace("see https://example.com", "")
    assert not re.search(r"https?://", outside_params)
    assert "@import" not in raw and "url(" not in raw


def test_a_long_backtest_stays_small(tmp_path):
    n = 200_000
    rng = np.random.default_rng(3)
    equity = 100_000 * np.cumprod(1 + rng.normal(0.00002, 0.001, n))
    times = np.datetime64("2023-01-01T00:00", "ns") + np.arange(n) * np.timedelta64(60, "s")
    bars = np.sort(rng.integers(0, n, 20_000))
    fills = [(int(i), "buy" if k % 2 else "sell", 1.0, 100.0) for k, i in enumerate(bars)]
    page = write(tmp_path / "big.html", times=times, equity=equity, fills=fills)
    size = (tmp_path / "big.html").stat().st_size
    assert size < 2_000_000, size
    points = page.of("polyline")[0]["points"].split()
    assert len(points) <= 2_002
    # the deepest point of the drawdown survives the thinning
    deepest = drawdown_series(equity).min()
    assert page.cells["max_drawdown"] == f"{-deepest:.2%}"


def test_downsample_keeps_every_buckets_extremes():
    rng = np.random.default_rng(5)
    values = np.cumsum(rng.normal(size=100_003))
    keep = downsample(values, max_points=1_000)
    assert len(keep) <= 1_002 and np.all(np.diff(keep) > 0)
    assert values.argmin() in keep and values.argmax() in keep and {0, len(values) - 1} <= set(keep)
    assert list(downsample(values[:50], max_points=1_000)) == list(range(50))


def test_mismatched_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="equally long"):
        write_html_report(path=tmp_path / "r.html", title="x",
                          timestamps=np.array(HAND_TIMES[:3], dtype="datetime64[ns]"), equity=HAND_EQUITY,
                          drawdown=drawdown_series(HAND_EQUITY), fills=[], trades=[], metrics={}, targets=[], params={})


def test_trade_list_round_trips(tmp_path):
    rows = trades()
    write_trade_list(tmp_path / "trades.csv", rows)
    with (tmp_path / "trades.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["symbol", "entry_time", "exit_time", "side", "quantity", "entry_price", "exit_price",
                                     "pnl", "return"]
        back = list(reader)
    assert [
        Trade(entry_time=datetime.fromisoformat(r["entry_time"]), exit_time=datetime.fromisoformat(r["exit_time"]),
              side=r["side"], quantity=Decimal(r["quantity"]), entry_price=Decimal(r["entry_price"]),
              exit_price=Decimal(r["exit_price"]), pnl=Decimal(r["pnl"]), symbol=r["symbol"])
        for r in back
    ] == rows
    assert [float(r["return"]) for r in back] == [t.ret for t in rows]


def test_trades_have_their_symbol_and_figures_read_for_people(tmp_path):
    """A multi-symbol backtest's trades say which symbol; a setting left out reads "unlimited";
    quantities and prices without trailing zeros; the header's bar count is the one given."""
    rows = [Trade(entry_time=datetime(2024, 1, 2), exit_time=datetime(2024, 1, 3), side="long",
                  quantity=Decimal("0.42000000"), entry_price=Decimal("455.44000000"),
                  exit_price=Decimal("460.1"), pnl=Decimal("1.9950000000000000000000000001"), symbol="BTC-USD"),
            Trade(entry_time=datetime(2024, 1, 4), exit_time=datetime(2024, 1, 5), side="long",
                  quantity=Decimal("10"), entry_price=Decimal("100"), exit_price=Decimal("101"), pnl=Decimal("10"))]
    times = np.asarray(HAND_TIMES, dtype="datetime64[ns]")
    metrics = compute_metrics(equity=HAND_EQUITY, timestamps=times, periods_per_year=252)
    write_html_report(path=tmp_path / "report.html", title="t", timestamps=times, equity=HAND_EQUITY,
                      drawdown=drawdown_series(HAND_EQUITY), fills=[], trades=rows, metrics=metrics.to_json(),
                      targets=[], params={"max_volume_share": None, "slippage_bps": 0.0}, bars=6)
    page = parse(tmp_path / "report.html")
    text = "".join(page.text)
    assert "symbol" in text and "BTC-USD" in text and "SPY" in text
    assert "None" not in text and "unlimited" in text
    assert "0.42" in text and "455.44" in text and "455.44000000" not in text and "0.42000000" not in text
    assert "2.00" in text and "1.9950000000000000000000000001" not in text
    assert ", 6 bars," in text
