"""Templates and static files: where they live in the package, the Jinja environment that
renders them (autoescaped), and the router that serves the static files with long caching.

A static URL carries a digest of the file's content (`?v=...`), so browsers may keep a file
for a year and still fetch the new one the moment it changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from domain import display


WEB_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PATH = "/static"
YEAR_SECONDS = 365 * 24 * 3600


class StaticUrls:
    """`url("app.css")` -> "/static/app.css?v=<digest>"; each file is read once, on first use."""

    def __init__(self, *, directory: Path = STATIC_DIR, prefix: str = STATIC_PATH) -> None:
        self._directory = directory
        self._prefix = prefix
        self._urls: dict[str, str] = {}

    def url(self, name: str) -> str:
        found = self._urls.get(name)
        if found is None:
            digest = hashlib.sha256((self._directory / name).read_bytes()).hexdigest()[:12]
            found = self._urls[name] = f"{self._prefix}/{name}?v={digest}"
        return found


def static_router() -> Router:
    return create_static_files_router(
        path=STATIC_PATH, directories=[STATIC_DIR], name="dashboard-static", include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=YEAR_SECONDS, immutable=True),
    )


def template_environment(*, static: StaticUrls) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["static_url"] = static.url
    env.filters.update(sparkline=sparkline_points, money=money, signed=signed, quantity=quantity, price=price, percent=percent, age=age,
                       moment=moment, tone=tone)
    return env


def sparkline_points(values: Sequence[float], *, width: float = 100, height: float = 24) -> str:
    """An SVG polyline's points for a series in a width x height box (y grows downward).
    Drawn server-side as plain SVG: no script, and nothing the page's CSP forbids."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0  # a flat series draws a flat line in the middle
    step = width / (len(values) - 1)
    middle = high == low
    return " ".join(f"{i * step:.1f},{(height / 2 if middle else height - (v - low) / span * height):.1f}"
                    for i, v in enumerate(values))


# --- filters: how figures read on the page (money stays Decimal until it becomes text) ------


# One formatting module for the CLI, the report and these pages (domain/display.py);
# "–" marks a figure not known yet.
def money(value: Decimal | None) -> str:
    return display.money(value, missing="–")


def signed(value: Decimal | None) -> str:
    return display.signed_money(value, missing="–")


def quantity(value: Decimal) -> str:
    return display.quantity(value)


def price(value: Decimal | None) -> str:
    return display.price(value, missing="–")


def percent(value: Decimal | float | None) -> str:
    return display.percent(value, missing="–")


def age(seconds: float) -> str:
    """Whole seconds: the bots table is re-sent when this text changes, so no finer."""
    whole = int(max(seconds, 0))
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def moment(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def tone(value: Decimal | None) -> str:
    """The CSS class of a signed figure."""
    if value is None or value == 0:
        return "flat"
    return "up" if value > 0 else "down"
