"""Build a bot's strategy from its settings: a built-in name or a user's file."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path

from domain.errors import ConfigurationError
from domain.strategies.ma_crossover import MovingAverageCrossover
from domain.strategy import Strategy

BUILT_IN = {"ma_crossover": MovingAverageCrossover}


def build_strategy(spec: str, *, params: Mapping[str, object], where: str) -> Strategy:
    """`spec` is a built-in name or "path/to/file.py:ClassName"; params go to its constructor."""
    if spec in BUILT_IN:
        factory = BUILT_IN[spec]
    elif ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        factory = _load_class(spec, where=where)
    else:
        raise ConfigurationError(
            f"{where}.strategy: unknown strategy {spec!r}; built-ins: {', '.join(BUILT_IN)}, "
            "or 'path/to/file.py:ClassName'"
        )
    try:
        strategy = factory(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}.params: {exc}") from exc
    for attribute in ("name", "warmup", "on_bar"):
        if not hasattr(strategy, attribute):
            raise ConfigurationError(f"{where}.strategy: {spec!r} has no {attribute!r}; see domain/strategy.py")
    return strategy


def _load_class(spec: str, *, where: str) -> type:
    file_name, class_name = spec.rsplit(":", 1)
    path = Path(file_name).expanduser().resolve()
    if not path.is_file():
        raise ConfigurationError(f"{where}.strategy: file {path} does not exist")
    module_name = f"quantshift_user_strategy_{abs(hash(path))}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigurationError(f"{where}.strategy: cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's file may fail in any way
        raise ConfigurationError(f"{where}.strategy: {path} failed to import: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigurationError(f"{where}.strategy: {path} has no class {class_name!r}")
    return cls
