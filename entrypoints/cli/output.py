"""Printing for the CLI: JSON for scripts (money as strings), tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import cattrs
from rich.console import Console
from rich.table import Table


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
    (console or Console()).print(table)


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"
