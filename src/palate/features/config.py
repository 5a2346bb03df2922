"""Building feature configurations from plain mappings, with errors a person can act on.

Each feature declares a frozen dataclass of options; :func:`build_config` fills it from the
``[features.<name>]`` table of the settings (or any mapping), refusing unknown options by name.
Validation messages name the feature, the option, the rule and the value given, e.g.
``customer_venue.half_life_hours must be > 0, got -1``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from palate.errors import ConfigurationError

HOUR_S = 3_600.0
DAY_S = 86_400.0

C = TypeVar("C")


def require(condition: bool, feature: str, option: str, rule: str, value: object) -> None:
    """Raise ``feature.option must be <rule>, got <value>`` unless ``condition`` holds.

    >>> require(False, "customer_venue", "half_life_hours", "> 0", -1)
    Traceback (most recent call last):
    ...
    palate.errors.ConfigurationError: customer_venue.half_life_hours must be > 0, got -1
    """
    if not condition:
        raise ConfigurationError(f"{feature}.{option} must be {rule}, got {value!r}")


def positive(feature: str, **options: float) -> None:
    """Every option given must be > 0."""
    for option, value in options.items():
        require(value > 0, feature, option, "> 0", value)


def probability(feature: str, **options: float) -> None:
    """Every option given must lie strictly between 0 and 1."""
    for option, value in options.items():
        require(0 < value < 1, feature, option, "strictly between 0 and 1", value)


def timezone(feature: str, name: str) -> None:
    """``name`` must be an IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{feature}.timezone must be an IANA time zone such as 'Europe/Helsinki', got {name!r}"
        ) from None


def build_config(cls: type[C], feature: str, options: Mapping[str, Any]) -> C:
    """An instance of the dataclass ``cls`` from ``options``; unknown keys are errors.

    ``enabled`` is not an option of the feature and is ignored here (the feature set reads it).
    """
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    given = {k: v for k, v in options.items() if k != "enabled"}
    unknown = sorted(set(given) - names)
    if unknown:
        raise ConfigurationError(
            f"{feature}: unknown option {unknown[0]!r}; options are: {', '.join(sorted(names))}"
        )
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{k: _like(defaults[k], v, feature, k) for k, v in given.items()})
    except TypeError as error:
        raise ConfigurationError(f"{feature}: {error}") from None


def _like(default: object, value: object, feature: str, option: str) -> object:
    """Environment variables arrive as text: read them as the option's default's type.

    >>> _like(720.0, "48", "customer_venue", "half_life_hours"), _like(True, "false", "f", "o")
    (48.0, False)
    """
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            return {"true": True, "false": False}[value.strip().lower()]
        if isinstance(default, int | float):
            return type(default)(value)
    except (KeyError, ValueError):
        raise ConfigurationError(
            f"{feature}.{option} must be a {type(default).__name__}, got {value!r}"
        ) from None
    return value
