"""`quantshift validation status|reset` as a user runs them: no store, an accelerated session
(which never starts a clock), a short real-time session (which does), and a reset."""

from __future__ import annotations

import json
from datetime import datetime

from adapters.marketdata.calendar import is_nyse_open


def _status(cli) -> dict[str, dict]:
    result = cli.invoke("validation", "status", "--json")
    assert result.returncode == 0, result.stderr
    return {row["bot"]: row for row in json.loads(result.stdout)}


def test_validation_status_on_a_fresh_store_then_after_a_real_time_session(cli):
    missing = cli.invoke("validation", "status")
    assert missing.returncode == 3 and "there is no store" in missing.stderr

    accelerated = cli.invoke("paper", "--days", "2", "--json")
    assert accelerated.returncode == 0, accelerated.stderr
    assert {bot: row["epoch"] for bot, row in _status(cli).items()} == {"equity": None, "crypto": None}
    assert "no epoch yet" in cli.invoke("validation", "status").stdout

    session = cli.run("paper", "--bar-seconds", "0.2", "--duration", "2")
    assert "validation: bot equity starts epoch 1 on paper (first run)" in session.stderr
    rows = _status(cli)
    assert {bot: (row["epoch"]["epoch"], row["epoch"]["account"], row["configuration_matches"])
            for bot, row in rows.items()} == {"equity": (1, "paper", True), "crypto": (1, "paper", True)}
    assert rows["crypto"]["trading_days"] == 1 and rows["crypto"]["day_unit"] == "UTC days"
    started = datetime.fromisoformat(rows["equity"]["epoch"]["started_at"])
    assert rows["equity"]["trading_days"] == (1 if is_nyse_open(started) else 0)  # NYSE sessions only
    assert rows["crypto"]["passed"] is False
    table = cli.invoke("validation", "status", "--bot", "crypto").stdout
    assert "1/30 UTC days" in table and "0/10" in table and "FAIL" in table

    reset = cli.invoke("validation", "reset", "--bot", "crypto", "--reason", "new sizing")
    assert reset.returncode == 0, reset.stderr
    assert "starts epoch 2 on paper now (reset: new sizing" in reset.stdout
    rows = _status(cli)
    assert (rows["crypto"]["epoch"]["epoch"], rows["crypto"]["trading_days"]) == (2, 0)
    assert rows["equity"]["epoch"]["epoch"] == 1
