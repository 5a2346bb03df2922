"""Typed settings: one model, one documented example file, environment overrides.

Precedence, highest first: ``PALATE_*`` environment variables (nested keys joined by ``__``,
e.g. ``PALATE_SERVER__PORT=9000``), the TOML file named by ``PALATE_CONFIG`` (or passed to
:func:`load_settings`), then the defaults below. ``palate.example.toml`` lists every key with
its default and a one-line comment; a test keeps the two in step.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_ADMIN_TOKEN = "change-me"  # noqa: S105 - the placeholder that production refuses


class Section(BaseModel):
    """A ``[table]`` of the config file; unknown keys are typos, so they are errors."""

    model_config = ConfigDict(extra="forbid")


class ServerSettings(Section):
    """The HTTP server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    access_log: bool = False
    gil_switch_interval_ms: float = Field(default=0.5, gt=0)


class DataSettings(Section):
    """Where the catalog, the event log and models live."""

    dir: Path = Path("data/demo")


class SimulationSettings(Section):
    """The demo marketplace simulator."""

    seed: int = 7
    customers: int = Field(default=5_000, ge=1)
    days: int = Field(default=42, ge=1)
    cities: int = Field(default=1, ge=1, le=3)


class DiscoverySettings(Section):
    """The Discovery premise."""

    default_limit: int = Field(default=50, ge=1)
    max_limit: int = Field(default=500, ge=1)
    venue_features_max_age_s: float = Field(default=5.0, ge=0)


class HeuristicSettings(Section):
    """Weights of the transparent fallback ranker (all scores are summed)."""

    distance_weight: float = 1.0
    rating_weight: float = 1.0
    popularity_weight: float = 1.0
    history_weight: float = 2.0
    rating_prior_mean: float = 4.2
    rating_prior_count: float = 20.0
    eta_km_per_min: float = 0.25


class RulesSettings(Section):
    """Business rules applied by the item premises (in venue and cart)."""

    alcohol_hours: str = "09:00-21:00"
    alcohol_markets: list[str] = ["fi", "se"]
    cart_max_per_category: int = Field(default=1, ge=1)


class StageBudgets(Section):
    """Latency budgets of one premise's stages in milliseconds (0: none).

    Scorer budgets are enforced: an overrun hands over to the next scorer; fail-open
    hydrators that keep overrunning are skipped for the breaker's cool-down. The others are
    recorded in the trace and the overrun metric.
    """

    learned_ms: float = Field(default=50.0, ge=0)
    heuristic_ms: float = Field(default=25.0, ge=0)
    popularity_ms: float = Field(default=25.0, ge=0)
    sources_ms: float = Field(default=20.0, ge=0)
    hydrators_ms: float = Field(default=20.0, ge=0)
    rules_ms: float = Field(default=5.0, ge=0)


class ItemStageBudgets(Section):
    """Latency budgets of an item premise's stages (in-venue, cart) in milliseconds (0: none)."""

    scorer_ms: float = Field(default=25.0, ge=0)
    popularity_ms: float = Field(default=25.0, ge=0)
    sources_ms: float = Field(default=10.0, ge=0)
    hydrators_ms: float = Field(default=20.0, ge=0)
    rules_ms: float = Field(default=5.0, ge=0)


class BudgetSettings(Section):
    """Per-premise stage budgets and the last-good-result fallback."""

    discovery: StageBudgets = StageBudgets()
    venue_items: ItemStageBudgets = ItemStageBudgets()
    cart: ItemStageBudgets = ItemStageBudgets()
    last_good_ttl_s: float = Field(default=300.0, gt=0)
    last_good_refresh_s: float = Field(default=30.0, ge=0)
    last_good_cell_m: float = Field(default=500.0, gt=0)
    last_good_entries: int = Field(default=10_000, ge=1)
    breaker_overruns: int = Field(default=3, ge=1)
    breaker_cooldown_s: float = Field(default=5.0, gt=0)


class BusinessRuleSettings(Section):
    """Pins, boosts, sponsored slots, exclusions and diversity caps (see palate.rules.config)."""

    file: str = "rules.json"
    # Each rule is a table validated by palate.rules.config when the server starts (a bad
    # field fails start-up with its name); settings stay below the rules layer.
    rules: list[dict[str, Any]] = []


class RankerSettings(Section):
    """The learned venue ranker and how servers pick up promoted models."""

    model_name: str = "venue_ranker"
    top_k: int = Field(default=200, ge=1)
    compiled: bool = True
    poll_interval_s: float = Field(default=1.0, gt=0)
    max_ndcg_drop: float = Field(default=0.01, ge=0)
    max_training_requests: int = Field(default=100_000, ge=1)


class IngestSettings(Section):
    """``POST /v1/events``: limits, the write-ahead log and event-id deduplication."""

    max_batch: int = Field(default=1_000, ge=1)
    max_body_bytes: int = Field(default=4_194_304, ge=1_024)
    wal_dir: str = ""
    segment_bytes: int = Field(default=67_108_864, ge=4_096)
    compact_interval_s: float = Field(default=10.0, gt=0)
    dedupe: Literal["auto", "memory", "redis"] = "auto"
    dedupe_window_s: float = Field(default=604_800.0, gt=0)
    dedupe_max_ids: int = Field(default=2_000_000, ge=1)
    pending_ttl_s: float = Field(default=60.0, gt=0)
    apply_interval_s: float = Field(default=0.1, ge=0)
    read_your_writes: bool = True


class RedisSettings(Section):
    """Shared state across server processes; an empty ``url`` keeps everything in memory."""

    url: str = ""
    key_prefix: str = "palate"
    stream_maxlen: int = Field(default=10_000, ge=100)
    consumer_group: str = "appliers"
    claim_idle_s: float = Field(default=30.0, gt=0)


class NewVenueExplorationSettings(Section):
    """Thompson-sampled slots for new venues in the Discovery and category rankings."""

    enabled: bool = True
    seed: int = 0
    new_days: int = Field(default=30, ge=0)
    min_impressions: float = Field(default=100.0, ge=0)
    max_slots: int = Field(default=2, ge=0)
    max_share: float = Field(default=0.1, ge=0, le=1)
    pool: int = Field(default=200, ge=1)
    prior_strength: float = Field(default=20.0, gt=0)


class ExplorationSettings(Section):
    """Thompson sampling on the click rate of banners, category tiles, brands and sections."""

    seed: int = 0
    max_slots: int = Field(default=2, ge=0)
    max_share: float = Field(default=0.25, ge=0, le=1)
    base_ctr: float = Field(default=0.05, gt=0, lt=1)
    prior_strength: float = Field(default=20.0, gt=0)
    relevance_weight: float = Field(default=1.0, ge=0)
    half_life_hours: float = Field(default=168.0, gt=0)
    candidate_pool: int = Field(default=500, ge=1)
    new_venues: NewVenueExplorationSettings = NewVenueExplorationSettings()


class SectionSettings(Section):
    """``POST /v1/discovery/sections``: which carousels, how long, and how often a venue repeats."""

    max_per_venue: int = Field(default=1, ge=1)
    venues_per_section: int = Field(default=10, ge=1)
    new_days: int = Field(default=30, ge=1)
    cuisine_carousels: int = Field(default=3, ge=0)
    pool: int = Field(default=200, ge=1)


class Settings(BaseSettings):
    """Every setting of Palate; see ``palate.example.toml`` for the documented defaults."""

    model_config = SettingsConfigDict(
        env_prefix="PALATE_", env_nested_delimiter="__", extra="forbid"
    )

    env: Literal["dev", "test", "production"] = "dev"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    admin_token: str = DEFAULT_ADMIN_TOKEN
    server: ServerSettings = ServerSettings()
    data: DataSettings = DataSettings()
    simulation: SimulationSettings = SimulationSettings()
    discovery: DiscoverySettings = DiscoverySettings()
    heuristic: HeuristicSettings = HeuristicSettings()
    ranker: RankerSettings = RankerSettings()
    # Per-feature options by feature name ([features.<name>] tables); validated by the features
    # package when the server builds its feature set, so a typo fails at start-up by name.
    features: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: RulesSettings = RulesSettings()
    budgets: BudgetSettings = BudgetSettings()
    business_rules: BusinessRuleSettings = BusinessRuleSettings()
    ingest: IngestSettings = IngestSettings()
    redis: RedisSettings = RedisSettings()
    exploration: ExplorationSettings = ExplorationSettings()
    sections: SectionSettings = SectionSettings()

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "production" and self.admin_token == DEFAULT_ADMIN_TOKEN:
            raise ValueError("admin_token must be changed from its default when env=production")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 - fixed signature
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats init values (the TOML file), which beat the defaults."""
        return (env_settings, init_settings)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file (if given or named by ``PALATE_CONFIG``), then the environment."""
    chosen = path or (Path(os.environ["PALATE_CONFIG"]) if "PALATE_CONFIG" in os.environ else None)
    values: dict[str, Any] = {}
    if chosen is not None:
        values = tomllib.loads(chosen.read_text(encoding="utf-8"))
    values.update(overrides)
    return Settings(**values)
