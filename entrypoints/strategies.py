"""Build a bot's strategy from its settings: a built-in name or a user's file."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path

from domain.errors import ConfigurationError
from domain.strategies.bollinger_bounce import BollingerBounce
from domain.strategies.donchian_breakout import DonchianBreakout
from domain.strategies.ma_crossover import MovingAverageCrossover
from domain.strategies.rsi_mean_reversion import RsiMeanReversion
from domain.strategy import Strategy
from domain.strategy_params import Param, ParamError, bind_params

BUILT_IN: dict[str, type] = {
    "ma_crossover": MovingAverageCrossover,
    "rsi_mean_reversion": RsiMeanReversion,
    "bollinger_bounce": BollingerBounce,
    "donchian_breakout": DonchianBreakout,
}


def build_strategy(spec: str, *, params: Mapping[str, object], where: str) -> Strategy:
    """`spec` is a built-in name or "path/to/file.py:ClassName". A class that declares
    `params` gets them checked against the declaration (defaults filled in); any other class
    gets them passed to its constructor as they are."""
    if spec in BUILT_IN:
        factory = BUILT_IN[spec]
    elif ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        factory = _load_class(spec, where=where)
    else:
        raise ConfigurationError(
            f"{where}.strategy: unknown strategy {spec!r}; built-ins: {', '.join(BUILT_IN)}, "
            "or 'path/to/file.py:ClassName'"
        )
    declared = declared_params(factory, where=where)
    label = getattr(factory, "name", None)  # a class-level name reads better than a file path
    label = label if isinstance(label, str) else spec
    try:
        arguments = dict(params) if declared is None else bind_params(declared, params, strategy=label)
        strategy = factory(**arguments)
    except ParamError as exc:
        raise ConfigurationError(f"{where}.params.{exc.param}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}.params: {exc}") from exc
    for attribute in ("name", "warmup", "on_bar"):
        if not hasattr(strategy, attribute):
            raise ConfigurationError(f"{where}.strategy: {spec!r} has no {attribute!r}; see domain/strategy.py")
    return strategy


def declared_params(factory: type, *, where: str) -> tuple[Param, ...] | None:
    """The class's declared params, or None when it declares none (it takes what it is given).
    A `params` attribute holding no Param at all is some other use of the name, not a declaration."""
    declared = getattr(factory, "params", None)
    if not isinstance(declared, (tuple, list)):
        return None
    found = [p for p in declared if isinstance(p, Param)]
    if declared and not found:
        return None
    problem = ""
    if len(found) != len(declared):
        problem = "must hold only domain.strategy_params.Param values"
    elif len({p.name for p in found}) != len(found):
        problem = "declares a name twice"
    if problem:
        raise ConfigurationError(f"{where}.strategy: {factory.__name__}.params {problem}")
    return tuple(found)


def describe_strategy(name: str) -> str:
    """A built-in's parameters for people: name, default, allowed values, help."""
    if name not in BUILT_IN:
        raise ConfigurationError(f"unknown strategy {name!r}; built-ins: {', '.join(BUILT_IN)}")
    factory = BUILT_IN[name]
    lines = [f"{name}: {_summary(factory)}"]
    for param in factory.params:  # type: ignore[attr-defined]
        line = f"  {param.name} = {toml_value(param.default)}  ({param.allowed()})"
        lines.append(f"{line}  {param.help}" if param.help else line)
    return "\n".join(lines)


def strategy_catalogue() -> list[dict[str, object]]:
    """The built-ins and their parameters as plain data, for `quantshift strategy list --json`."""
    return [
        {
            "name": name,
            "class": factory.__name__,
            "summary": _summary(factory),
            "params": [
                {"name": p.name, "kind": p.kind.value, "default": p.default, "low": p.low, "high": p.high,
                 "step": p.step, "log": p.log, "choices": list(p.choices), "help": p.help}
                for p in factory.params  # type: ignore[attr-defined]
            ],
        }
        for name, factory in BUILT_IN.items()
    ]


def _summary(factory: type) -> str:
    """The first line of the strategy module's docstring (where each built-in explains itself)."""
    text = (sys.modules[factory.__module__].__doc__ or factory.__doc__ or "").strip()
    return text.splitlines()[0] if text else ""


def toml_value(value: object) -> str:
    """A default as it would be written in the config file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


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
