"""Printing for the CLI: JSON for scripts (money as strings), tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import cattrs
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from domain import display


def make_output_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
    converter.register_unstructure_hook(date, lambda d: d.isoformat())
    converter.register_unstructure_hook(Enum, lambda e: e.value)
    return converter


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, console: Console | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    print_wide(table, console=console or Console())


def print_wide(renderable: object, *, console: Console) -> None:
    """On a terminal, rich fits the table to the window. Piped or redirected (a file, grep, a
    pager), there is no window: rich would assume 80 columns and cut every cell to fit, so the
    table is printed at its natural width instead."""
    if not console.is_terminal:
        unbounded = console.options.update(max_width=1_000_000)
        width = Measurement.get(console, unbounded, renderable).maximum  # type: ignore[arg-type]
        console = Console(file=console.file, width=max(width, 1), no_color=console.no_color,
                          force_terminal=False, highlight=False)
    console.print(renderable)


def money(value: Decimal | None) -> str:
    return display.money(value)


price = display.price
quantity = display.quantity
percent = display.percent
ratio = display.ratio
