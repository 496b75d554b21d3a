"""Where commands write files (backtest --report, data --out): checked before the work starts,
so a bad path never costs a run; an existing file is overwritten only with --force."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from domain.errors import ConfigurationError

ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files that already exist there.")]


def prepare_directory(directory: Path, *, option: str, names: Iterable[str], force: bool) -> None:
    """Make `directory` (with its parents) and prove it takes files; refuse, naming `option`,
    when it is not a directory, cannot be written, or already holds one of `names` (unless
    `force`). Each name must stay inside the directory (names come from symbols)."""
    if directory.exists() and not directory.is_dir():
        raise ConfigurationError(f"{option} {directory}: is a file, not a directory (the files are written into it)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".quantshift-probe-"):
            pass  # writing a file is the only reliable test (root, read-only mounts, /proc)
    except OSError as exc:
        raise ConfigurationError(f"{option} {directory}: cannot write there: {exc.strerror or exc}") from None
    names = list(names)
    root = directory.resolve()
    for name in names:
        if (directory / name).resolve().parent != root:
            raise ConfigurationError(f"{option}: {name!r} would be written outside {directory}")
    taken = [name for name in names if (directory / name).exists()]
    if taken and not force:
        raise ConfigurationError(f"{option} {directory}: already holds {', '.join(taken)}; not overwriting it "
                                 "(add --force to replace, or choose another directory)")
