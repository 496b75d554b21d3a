"""The file `quantshift strategy new` writes: a small strategy that runs as it is, and shows
every part of the interface (declared params, warm-up, indicators, signals) to edit from."""

from __future__ import annotations

import keyword
import re

_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

TEMPLATE = '''"""{name}: long while the close is clearly above its moving average, flat below it.

Written by `quantshift strategy new {name}`: replace the rule in `on_bar` with your own and
keep the shape. The guide is docs/writing-a-strategy.md; in short:

- `on_bar(window)` gets read-only numpy arrays of the symbol's recent bars (window.closes,
  .highs, .lows, .volumes; window.last is the latest Bar) and nothing of the engine. It
  returns a Signal (LONG, FLAT or SHORT, with the figures it decided on and a reason) or
  None to keep things as they are.
- One instance serves every symbol of the bot: keep no state on it (it is frozen), decide
  from the window alone.
- If it raises, it is switched off for that symbol and you are alerted; the bot carries on.

Use it in the config:

    [[bots]]
    strategy = "{spec}"
    params = {{ period = 20, band_percent = 1.0 }}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import attrs

from domain.indicators import sma
from domain.strategy import BarWindow, Signal, Target
from domain.strategy_params import Param, check_params, float_param, int_param


@attrs.frozen(kw_only=True)
class {class_name}:
    name: ClassVar[str] = "{name}"  # recorded with every order it causes
    # Declared once: the config is checked against these (unknown names and values out of
    # range are refused, naming the key), `quantshift strategy list`-style listings and
    # optimisers read them too. Each needs a field of the same name and default below.
    params: ClassVar[tuple[Param, ...]] = (
        int_param("period", default=20, low=2, high=200, help="SMA length in bars"),
        float_param("band_percent", default=1.0, low=0.0, high=10.0, step=0.5,
                    help="how far above the SMA (percent) the close must be to go long"),
    )

    period: int = 20
    band_percent: float = 1.0

    def __attrs_post_init__(self) -> None:
        check_params(self)  # the same checks when it is built directly, in a test or notebook
        # Rules that involve two parameters go here, e.g. (ParamError from domain.strategy_params):
        #   if self.fast >= self.slow:
        #       raise ParamError(f"{{self.name}}: fast must be below slow", param="fast")

    @property
    def warmup(self) -> int:
        """Bars needed before on_bar may signal; the window keeps at least this many."""
        return self.period

    def indicators(self) -> Mapping[str, str]:
        """What each figure in the Signal's values is, for reports."""
        return {{"sma": f"SMA({{self.period}}) of close", "close": "last close"}}

    def on_bar(self, window: BarWindow) -> Signal | None:
        if len(window) < self.warmup or window.last is None:
            return None
        close = float(window.closes[-1])
        average = float(sma(window.closes, self.period)[-1])
        if math.isnan(average):
            return None
        values = {{"sma": round(average, 6), "close": close}}
        entry = average * (1 + self.band_percent / 100)
        if close > entry:
            return Signal(target=Target.LONG, bar_ts=window.last.ts, values=values,
                          reason=f"close {{close:g}} > SMA{{self.period}} + {{self.band_percent:g}}% ({{entry:.2f}})")
        if close < average:
            return Signal(target=Target.FLAT, bar_ts=window.last.ts, values=values,
                          reason=f"close {{close:g}} < SMA{{self.period}} {{average:.2f}}")
        return None  # in the band: keep whatever is held
'''


def check_strategy_name(name: str) -> str | None:
    """Why `name` cannot name a strategy file, or None when it can."""
    if keyword.iskeyword(name):
        return f"strategy name {name!r} is a Python keyword; the class and module could not be imported"
    if not _SNAKE_CASE.match(name):
        return (f"strategy name {name!r} must be a snake_case Python identifier "
                "(lower-case letters, digits and single underscores, starting with a letter), e.g. my_breakout")
    return None


def class_name_for(name: str) -> str:
    """my_breakout -> MyBreakout."""
    return "".join(part.capitalize() for part in name.split("_"))


def render(*, name: str, spec: str) -> str:
    return TEMPLATE.format(name=name, class_name=class_name_for(name), spec=spec)
