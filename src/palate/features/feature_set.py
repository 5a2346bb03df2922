"""The features a deployment computes, built from the ``[features]`` table of the settings.

Every known feature is on by default with the defaults of its config dataclass; a table
``[features.<name>]`` overrides options, and ``enabled = false`` turns a feature off::

    [features.customer_venue]
    half_life_hours = 360

    [features.co_purchase]
    enabled = false
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from palate.errors import ConfigurationError
from palate.features.affinity import AffinityConfig, TagAffinity
from palate.features.base import Feature, ItemFeature, VenueFeature
from palate.features.co_purchase import CoPurchase, CoPurchaseConfig
from palate.features.config import build_config
from palate.features.customer_venue import CustomerVenueConfig, CustomerVenueHistory
from palate.features.engagement import EngagementConfig, VenueEngagement
from palate.features.item_hours import ItemHourConfig, ItemHourPopularity
from palate.features.items import ItemPopularity, ItemPopularityConfig
from palate.features.popularity import PopularityConfig, VenuePopularity
from palate.features.price import CustomerPrice, PriceConfig
from palate.features.time_of_day import TimeOfDay, TimeOfDayConfig
from palate.features.venue_profile import VenueProfile, VenueProfileConfig

Options = Mapping[str, Any]


def _affinity(name: str, tags: str) -> Callable[[Options], Feature]:
    def build(options: Options) -> Feature:
        if "tags" in options:
            raise ConfigurationError(f"{name}.tags is fixed to {tags!r}; remove it")
        return TagAffinity(build_config(AffinityConfig, name, {**options, "tags": tags}))

    return build


BUILDERS: dict[str, Callable[[Options], Feature]] = {
    "customer_venue": lambda o: CustomerVenueHistory(
        build_config(CustomerVenueConfig, "customer_venue", o)
    ),
    "cuisine_affinity": _affinity("cuisine_affinity", "cuisines"),
    "category_affinity": _affinity("category_affinity", "categories"),
    "customer_price": lambda o: CustomerPrice(build_config(PriceConfig, "customer_price", o)),
    "time_of_day": lambda o: TimeOfDay(build_config(TimeOfDayConfig, "time_of_day", o)),
    "venue_popularity": lambda o: VenuePopularity(
        build_config(PopularityConfig, "venue_popularity", o)
    ),
    "venue_engagement": lambda o: VenueEngagement(
        build_config(EngagementConfig, "venue_engagement", o)
    ),
    "venue_profile": lambda o: VenueProfile(build_config(VenueProfileConfig, "venue_profile", o)),
    "item_popularity": lambda o: ItemPopularity(
        build_config(ItemPopularityConfig, "item_popularity", o)
    ),
    "co_purchase": lambda o: CoPurchase(build_config(CoPurchaseConfig, "co_purchase", o)),
    "item_hour_popularity": lambda o: ItemHourPopularity(
        build_config(ItemHourConfig, "item_hour_popularity", o)
    ),
}


def _enabled(name: str, options: Options) -> bool:
    enabled = options.get("enabled", True)
    if isinstance(enabled, str) and enabled.strip().lower() in ("true", "false"):
        enabled = enabled.strip().lower() == "true"  # from an environment variable
    if not isinstance(enabled, bool):
        raise ConfigurationError(f"{name}.enabled must be true or false, got {enabled!r}")
    return enabled


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """The enabled features, in a fixed order (the order of their columns)."""

    features: tuple[Feature, ...]
    venue_features: tuple[VenueFeature, ...] = field(init=False)
    """Features with columns per candidate venue."""
    item_features: tuple[ItemFeature, ...] = field(init=False)
    """Features with columns per candidate item."""
    venue_columns: tuple[str, ...] = field(init=False)
    """Names of the venue columns, in order."""
    item_columns: tuple[str, ...] = field(init=False)
    """Names of the item columns, in order."""
    personal_venue_features: tuple[VenueFeature, ...] = field(init=False)
    """The venue features read per customer (the rest are materialised for every venue)."""

    @classmethod
    def from_config(cls, config: Mapping[str, Options] | None = None) -> FeatureSet:
        """Every known feature, with the options and ``enabled`` flags of ``config``.

        >>> FeatureSet.from_config({"co_purchase": {"enabled": False}}).get("co_purchase")
        >>> FeatureSet.from_config({"customer_venue": {"half_life_hours": -1}})
        Traceback (most recent call last):
        ...
        palate.errors.ConfigurationError: customer_venue.half_life_hours must be > 0, got -1
        """
        config = config or {}
        unknown = sorted(set(config) - set(BUILDERS))
        if unknown:
            raise ConfigurationError(
                f"features: unknown feature {unknown[0]!r}; known: {', '.join(BUILDERS)}"
            )
        features = tuple(
            build(config.get(name, {}))
            for name, build in BUILDERS.items()
            if _enabled(name, config.get(name, {}))
        )
        return cls(features)

    def __post_init__(self) -> None:
        # Protocol isinstance checks are slow; sort the features once, not per request.
        venue = tuple(f for f in self.features if isinstance(f, VenueFeature))
        item = tuple(f for f in self.features if isinstance(f, ItemFeature))
        object.__setattr__(self, "venue_features", venue)
        object.__setattr__(self, "item_features", item)
        # Computed once: the serving path reads these on every request.
        venue_columns = tuple(c for f in venue for c in f.venue_columns)
        object.__setattr__(self, "venue_columns", venue_columns)
        object.__setattr__(self, "item_columns", tuple(c for f in item for c in f.item_columns))
        object.__setattr__(
            self, "personal_venue_features", tuple(f for f in venue if f.per_customer)
        )
        columns = [*self.venue_columns, *self.item_columns]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise ConfigurationError(f"features: column {repeated[0]!r} is produced twice")

    def get(self, name: str) -> Feature | None:
        """An enabled feature by name."""
        return next((f for f in self.features if f.name == name), None)
