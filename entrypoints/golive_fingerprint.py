"""Each configured bot's fingerprint (application/golive/fingerprint.py), built from the settings.

The strategy's code is hashed from its source file: for a built-in the module in
domain/strategies/, for "path/to/file.py:ClassName" the user's file, so editing the strategy
is a change like any other.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import attrs

from application.golive.fingerprint import BotFingerprint
from domain.errors import ConfigurationError
from entrypoints.settings import BotSettings, Settings
from entrypoints.strategies import BUILT_IN


def strategy_code_sha256(spec: str) -> str:
    if spec in BUILT_IN:
        source = inspect.getsourcefile(BUILT_IN[spec])
        if source is None:  # an installed build without sources still has a fixed identity
            return hashlib.sha256(f"built-in:{spec}".encode()).hexdigest()
        path = Path(source)
    else:
        path = Path(spec.rsplit(":", 1)[0]).expanduser().resolve()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigurationError(f"strategy {spec!r}: cannot read {path} to fingerprint it: {exc}") from exc


def bot_fingerprint(settings: Settings, bot: BotSettings, *, version: str) -> BotFingerprint:
    ingredients: dict[str, object] = {
        "strategy": bot.strategy,
        "strategy_code_sha256": strategy_code_sha256(bot.strategy),
        "quantshift_version": version,
        "engine.timeframe": settings.engine.timeframe,
        "engine.evaluations_per_bar": settings.engine.evaluations_per_bar,
        "engine.on_stop": settings.engine.on_stop,
    }
    for field in attrs.fields(BotSettings):
        if field.name in {"name", "strategy", "params"}:
            continue
        ingredients[f"bot.{field.name}"] = getattr(bot, field.name)
    for name, value in bot.params.items():
        ingredients[f"params.{name}"] = value
    for field in attrs.fields(type(settings.risk)):
        ingredients[f"risk.{field.name}"] = getattr(settings.risk, field.name)
    allocation = settings.allocation
    ingredients["allocation.method"] = allocation.method
    if allocation.method != "none":
        for field in attrs.fields(type(allocation)):
            ingredients[f"allocation.{field.name}"] = getattr(allocation, field.name)
    return BotFingerprint(bot=bot.name, ingredients=ingredients)


def fingerprints(settings: Settings, *, version: str) -> dict[str, BotFingerprint]:
    return {bot.name: bot_fingerprint(settings, bot, version=version) for bot in settings.bots}
