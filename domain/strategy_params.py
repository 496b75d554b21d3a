"""What a strategy's parameters may be: declared once, checked at the boundary, searchable.

A strategy declares `params: ClassVar[tuple[Param, ...]]`. The declaration serves three readers:
the configuration (`bind_params` checks a bot's `params = {...}` and fills defaults), people
(`quantshift strategy list` prints names, defaults and ranges) and optimisers (`search_space`
gives the bounds, grid and scale to sample from). Checks that involve two parameters (fast <
slow) belong to the strategy's `__attrs_post_init__`, which raises `ParamError` naming one of them.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Mapping, Sequence

import attrs
import numpy as np


class ParamKind(enum.Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"


class ParamError(ValueError):
    """A parameter value (or name) that is not allowed; `param` says which, for the config key."""

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.param = param


@attrs.frozen(kw_only=True)
class Param:
    """One declared parameter. Numbers need both bounds (inclusive): the error message and an
    optimiser's search space are both built from them. `step` is the optimiser's grid, not a
    rule for hand-set values; `log` asks it to sample on a log scale (positive bounds only)."""

    name: str
    kind: ParamKind = attrs.field(converter=ParamKind)
    default: object
    low: float | None = None
    high: float | None = None
    step: float | None = None  # None means 1 for ints, continuous for floats
    log: bool = False
    choices: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    help: str = ""

    def __attrs_post_init__(self) -> None:
        # A wrong declaration is the strategy author's bug: say so at import, not at the first bar.
        where = f"parameter {self.name!r}"
        if not self.name.isidentifier():
            raise ValueError(f"{where}: the name must be a Python identifier")
        numeric = self.kind in (ParamKind.INT, ParamKind.FLOAT)
        if numeric:
            if self.low is None or self.high is None:
                raise ValueError(f"{where}: an {self.kind.value} parameter needs both low and high")
            if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
                raise ValueError(f"{where}: low ({self.low}) and high ({self.high}) must be finite, low <= high")
            if self.step is not None and not self.step > 0:
                raise ValueError(f"{where}: step must be > 0, got {self.step}")
            if self.kind is ParamKind.INT and self.step is not None and self.step != int(self.step):
                raise ValueError(f"{where}: an int parameter's step must be a whole number, got {self.step}")
            if self.log and self.low <= 0:
                raise ValueError(f"{where}: a log scale needs low > 0, got {self.low}")
            if self.log and self.step not in (None, 1):
                raise ValueError(f"{where}: a log scale cannot have a step (optimisers refuse both)")
        elif self.low is not None or self.high is not None or self.step is not None or self.log:
            raise ValueError(f"{where}: low, high, step and log are for int and float parameters only")
        if self.kind is ParamKind.CHOICE:
            if not self.choices or not all(isinstance(c, str) for c in self.choices):
                raise ValueError(f"{where}: a choice parameter needs a non-empty tuple of strings as choices")
        elif self.choices:
            raise ValueError(f"{where}: choices are for choice parameters only")
        self.validate(self.default, where=f"{where} default")

    def allowed(self) -> str:
        """The allowed values in words, for messages and listings."""
        if self.kind is ParamKind.INT:
            return f"an integer from {int(self.low)} to {int(self.high)}"  # type: ignore[arg-type]
        if self.kind is ParamKind.FLOAT:
            return f"a number from {self.low:g} to {self.high:g}"
        if self.kind is ParamKind.BOOL:
            return "true or false"
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def validate(self, value: object, *, where: str) -> object:
        """The value to use, or ParamError naming the parameter, the value and what is allowed.

        Only conversions that lose nothing are made: an int for a float, a whole float (or a
        numpy integer) for an int. True is never taken for 1, nor 1 for True."""
        coerced = _COERCE[self.kind](self, value)
        if coerced is None:
            raise ParamError(f"{where}: {self.name} must be {self.allowed()}, got {value!r}", param=self.name)
        if self.kind in (ParamKind.INT, ParamKind.FLOAT) and not self.low <= coerced <= self.high:  # type: ignore[operator]
            raise ParamError(f"{where}: {self.name} must be {self.allowed()}, got {value!r}", param=self.name)
        return coerced


def _as_int(_param: Param, value: object) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def _as_float(_param: Param, value: object) -> float | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _as_bool(_param: Param, value: object) -> bool | None:
    return bool(value) if isinstance(value, (bool, np.bool_)) else None


def _as_choice(param: Param, value: object) -> str | None:
    return value if isinstance(value, str) and value in param.choices else None


_COERCE = {ParamKind.INT: _as_int, ParamKind.FLOAT: _as_float, ParamKind.BOOL: _as_bool, ParamKind.CHOICE: _as_choice}


def int_param(name: str, *, default: int, low: int, high: int, step: int = 1, log: bool = False, help: str = "") -> Param:
    return Param(name=name, kind=ParamKind.INT, default=default, low=low, high=high, step=step, log=log, help=help)


def float_param(
    name: str, *, default: float, low: float, high: float, step: float | None = None, log: bool = False, help: str = ""
) -> Param:
    return Param(name=name, kind=ParamKind.FLOAT, default=default, low=low, high=high, step=step, log=log, help=help)


def bool_param(name: str, *, default: bool, help: str = "") -> Param:
    return Param(name=name, kind=ParamKind.BOOL, default=default, help=help)


def choice_param(name: str, *, default: str, choices: Sequence[str], help: str = "") -> Param:
    return Param(name=name, kind=ParamKind.CHOICE, default=default, choices=tuple(choices), help=help)


def bind_params(declared: Sequence[Param], given: Mapping[str, object], *, strategy: str) -> dict[str, object]:
    """Every declared parameter's value: the given ones checked (and safely converted), the
    rest their defaults. An unknown name is refused rather than ignored: a typo such as
    `perod = 5` would otherwise run the default without anyone noticing."""
    by_name = {param.name: param for param in declared}
    for name in given:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise ParamError(f"{strategy}: unknown parameter {name!r}; known: {known}", param=str(name))
    return {
        param.name: param.validate(given[param.name], where=strategy) if param.name in given else param.default
        for param in declared
    }


def check_params(strategy: object) -> None:
    """For a strategy's `__attrs_post_init__`: check every declared field as `bind_params` would,
    so one built directly (in a test, a notebook) is held to the same rules as one from config."""
    for param in type(strategy).params:  # type: ignore[attr-defined]
        value = getattr(strategy, param.name)
        coerced = param.validate(value, where=getattr(strategy, "name", type(strategy).__name__))
        if type(coerced) is not type(value):
            # attrs' documented way to set a field of a frozen instance during its own initialisation.
            object.__setattr__(strategy, param.name, coerced)


@attrs.frozen(kw_only=True)
class SearchDimension:
    """One axis of an optimiser's search space (Optuna: suggest_int / suggest_float /
    suggest_categorical). Bools come as a choice between False and True."""

    kind: ParamKind
    low: float | None
    high: float | None
    step: float | None
    log: bool
    choices: tuple[object, ...]


def search_space(declared: Sequence[Param]) -> dict[str, SearchDimension]:
    space = {}
    for param in declared:
        if param.kind is ParamKind.INT:
            dimension = SearchDimension(kind=param.kind, low=int(param.low), high=int(param.high),  # type: ignore[arg-type]
                                        step=int(param.step or 1), log=param.log, choices=())
        elif param.kind is ParamKind.FLOAT:
            dimension = SearchDimension(kind=param.kind, low=float(param.low), high=float(param.high),  # type: ignore[arg-type]
                                        step=param.step, log=param.log, choices=())
        elif param.kind is ParamKind.BOOL:
            dimension = SearchDimension(kind=param.kind, low=None, high=None, step=None, log=False, choices=(False, True))
        else:
            dimension = SearchDimension(kind=param.kind, low=None, high=None, step=None, log=False, choices=param.choices)
        space[param.name] = dimension
    return space
