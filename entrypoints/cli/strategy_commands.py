"""`quantshift strategy new|list`: start a strategy of your own, see the built-in ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from entrypoints.cli.common import EXIT_CONFIG, JsonOption, fail
from entrypoints.cli.output import print_json
from entrypoints.cli.strategy_template import check_strategy_name, class_name_for, render
from entrypoints.strategies import describe_strategy, strategy_catalogue

strategy_app = typer.Typer(help="Strategies: write your own from a template, list the built-in ones.",
                           no_args_is_help=True)


@strategy_app.command("new")
def new_strategy(
    name: Annotated[str, typer.Argument(help="snake_case name of the strategy, e.g. my_breakout (the file is NAME.py).")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to write NAME.py (created if missing).")] = Path("."),
) -> None:
    """Write NAME.py: a documented strategy that runs as it is, to edit into your own."""
    problem = check_strategy_name(name)
    if problem:
        fail(problem, code=EXIT_CONFIG)
    path = directory / f"{name}.py"
    spec = f"{path.as_posix()}:{class_name_for(name)}"
    if directory.exists() and not directory.is_dir():
        fail(f"--dir {directory} is a file, not a directory", code=EXIT_CONFIG)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        # "x": create only, so an existing file (someone's edited strategy) is never overwritten.
        with path.open("x", encoding="utf-8") as out:
            out.write(render(name=name, spec=spec))
    except FileExistsError:
        fail(f"{path} already exists; not overwriting it (choose another name or --dir, or move it away)",
             code=EXIT_CONFIG)
    print(f"wrote {path} (class {class_name_for(name)})")
    print("use it in a bot's config:")
    print("  [[bots]]")
    print(f'  strategy = "{spec}"')
    print("  params = { period = 20, band_percent = 1.0 }")
    print("then backtest it on synthetic days: quantshift paper --days 20 --config bots.toml "
          "(docs/writing-a-strategy.md has the rest)")


@strategy_app.command("list")
def list_strategies(json_output: JsonOption = False) -> None:
    """The built-in strategies and their parameters: defaults and allowed values."""
    catalogue = strategy_catalogue()
    if json_output:
        print_json(catalogue)
        return
    # Plain lines rather than a table: the help texts wrap badly in table cells.
    print("\n\n".join(describe_strategy(str(entry["name"])) for entry in catalogue))
    print('\nSet them in a bot\'s config: strategy = "<name>", params = { <param> = <value>, ... }')
