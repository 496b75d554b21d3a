"""A paper session whose bot trips its drawdown breaker: the configuration and the bars that the
alerts' end-to-end test (tests/e2e/test_alerts.py) and its latency benchmark
(benchmarks/breaker_alert_latency.py) share."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

STRATEGIES = Path(__file__).resolve().parents[1] / "e2e" / "user_strategies.py"
BREAKER_KEY = "drawdown_breaker:sim-0001/btc"  # the first accelerated session of a store is sim-0001


def breaker_config(*, repeat_minutes: float = 0.05, group_seconds: float = 1) -> str:
    """An always-long crypto bot (90 % of its capital in), the breaker at 5 % / 10 %, alerts
    repeated every `repeat_minutes`, a watchdog ticking fast."""
    return f'''
[alerts]
group_seconds = {group_seconds}
repeat_minutes = {repeat_minutes}

[risk]
drawdown_warning = 0.05
drawdown_limit = 0.10

[watchdog]
interval_seconds = 0.2
lease_seconds = 1.5

[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
position_fraction = 0.9
strategy = "{STRATEGIES}:AlwaysLong"
'''


def crash_csv(path: Path) -> Path:
    """15-minute BTC-USD bars: up from 100 to 110, then down to 80 (27 % off the peak), then flat."""
    start = datetime(2025, 3, 3, tzinfo=timezone.utc)
    prices = [100 + i * 0.25 for i in range(40)] + [110 - i * 0.75 for i in range(40)] + [80.0] * 20
    rows = [f"{(start + timedelta(minutes=15 * i)).isoformat()},{p:.2f},{p + 0.1:.2f},{p - 0.1:.2f},{p:.2f},1000\n"
            for i, p in enumerate(prices)]
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(rows))
    return path
