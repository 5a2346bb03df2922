"""Everything a serving process holds, and how it is loaded from the data directory."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palate.catalog.changelog import CatalogChangelog
from palate.catalog.editor import CatalogEditor
from palate.catalog.index import VenueIndex
from palate.catalog.item_query import ItemQuery
from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from palate.domain.requests import RankingRequest
from palate.events.log import EventLog
from palate.features.entity_engagement import CityLocator, EntityEngagement, EntityEngagementConfig
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store.registry import open_store
from palate.features.venue_attributes import attributes_of as venue_attributes
from palate.pipeline import Pipeline
from palate.pipeline.budget import LastGood, OverrunBreaker
from palate.premises.cart import cart_pipeline
from palate.premises.category import category_pipeline
from palate.premises.discovery import discovery_budgets, discovery_pipeline, location_cell
from palate.premises.item_budgets import item_budgets
from palate.premises.venue_items import venue_items_pipeline
from palate.ranking.heuristic import weights_from
from palate.ranking.hot_swap import ModelHolder
from palate.ranking.learned import served_item_factors
from palate.retrieval.category import CategoryRequest
from palate.rules.alcohol import AlcoholRule
from palate.rules.config import RuleBook, parse_rule
from palate.rules.store import RuleStore
from palate.serving.catalog_sync import CatalogBroadcast
from palate.serving.item_rows import ItemRowsJson
from palate.settings import Settings

CATALOG_DIR = "catalog"
EVENTS_DIR = "events"
CATALOG_CHANGES = "catalog-changes.jsonl"
WARM_MARKER = "features:warmed"
log = logging.getLogger("palate.state")


@dataclass(slots=True)
class ServingState:
    """The catalog, its serving index, the online features, models and the premise pipelines."""

    catalog: Catalog
    index: VenueIndex
    features: FeatureService
    editor: CatalogEditor
    changelog: CatalogChangelog
    discovery: Pipeline[RankingRequest]
    category: Pipeline[CategoryRequest]
    venue_items: Pipeline[ItemQuery]
    cart: Pipeline[ItemQuery]
    models: ModelHolder = field(default_factory=ModelHolder)
    broadcast: CatalogBroadcast | None = None
    business_rules: RuleBook = field(default_factory=RuleBook)
    rule_store: RuleStore | None = None
    engagement: EntityEngagement | None = None  # banner, tile, brand and section click rates
    item_rows: ItemRowsJson = field(default_factory=ItemRowsJson)  # answers' item rows as JSON

    def record_catalog_change(self, op: str, body: Any) -> None:
        """Log a change durably, refresh the features' venue facts, tell the other replicas."""
        self.changelog.append(op, body)
        if op == "venues":
            self.features.update_attributes(venue_attributes(self.catalog))
        if self.broadcast is not None:
            self.broadcast.publish(op, body)

    def apply_remote_change(self, op: str, body: Any) -> None:
        """A change another replica made: apply it here too."""
        from palate.serving.catalog_api import apply_change

        apply_change(self.editor, op, body)
        if op == "venues":
            self.features.update_attributes(venue_attributes(self.catalog))


def open_features(settings: Settings, catalog: Catalog) -> FeatureService:
    """The feature service on the configured store: Redis when a URL is set, else memory."""
    if settings.redis.url:
        store = open_store("redis", url=settings.redis.url, namespace=settings.redis.key_prefix)
    else:
        store = open_store("memory")
    features = FeatureSet.from_config(settings.features)
    return FeatureService(
        store,
        features,
        attributes=venue_attributes(catalog),
        frame_max_age_s=settings.discovery.venue_features_max_age_s,
    )


def build_state(
    catalog: Catalog,
    settings: Settings,
    data_dir: Path | None = None,
    models: ModelHolder | None = None,
) -> ServingState:
    """Index the catalog and wire the premises; features start empty (see :func:`warm_features`).

    With a ``data_dir`` catalog changes are logged there and checkpointed into its catalog.
    """
    index = VenueIndex.build(catalog)
    features = open_features(settings, catalog)
    editor = CatalogEditor(catalog, index, None if data_dir is None else data_dir / CATALOG_DIR)
    changes_path = (data_dir or Path(tempfile.mkdtemp(prefix="palate-"))) / CATALOG_CHANGES
    holder = models or ModelHolder()
    book = RuleBook(config=tuple(parse_rule(raw) for raw in settings.business_rules.rules))
    store = None if data_dir is None else RuleStore(data_dir / settings.business_rules.file, book)
    budgets = settings.budgets
    pipeline = discovery_pipeline(
        index,
        features,
        editor,
        weights_from(settings.heuristic),
        models=holder,
        top_k=settings.ranker.top_k,
        rules=book,
        cities=catalog.cities,
        budgets_us=discovery_budgets(budgets.discovery),
        last_good=LastGood(
            location_cell(budgets.last_good_cell_m),
            capacity=budgets.last_good_entries,
            ttl_s=budgets.last_good_ttl_s,
            refresh_s=budgets.last_good_refresh_s,
        ),
        breaker=OverrunBreaker(budgets.breaker_overruns, budgets.breaker_cooldown_s),
        exploration=settings.exploration.new_venues,
    )
    rules = settings.rules
    alcohol = AlcoholRule(catalog, rules.alcohol_hours, rules.alcohol_markets)
    return ServingState(
        catalog=catalog,
        index=index,
        features=features,
        editor=editor,
        changelog=CatalogChangelog(changes_path),
        discovery=pipeline,
        category=category_pipeline(pipeline, index),
        venue_items=venue_items_pipeline(
            features,
            alcohol,
            rules=book,
            catalog=catalog,
            items=editor.items,
            item_factors=lambda: served_item_factors(holder),
            budgets_us=item_budgets(budgets.venue_items, "item_heuristic"),
            breaker=OverrunBreaker(budgets.breaker_overruns, budgets.breaker_cooldown_s),
        ),
        cart=cart_pipeline(
            features,
            alcohol,
            per_category=rules.cart_max_per_category,
            rules=book,
            catalog=catalog,
            items=editor.items,
            budgets_us=item_budgets(budgets.cart, "cart_heuristic"),
            breaker=OverrunBreaker(budgets.breaker_overruns, budgets.breaker_cooldown_s),
        ),
        models=holder,
        broadcast=catalog_broadcast(settings),
        business_rules=book,
        rule_store=store,
        engagement=EntityEngagement(
            features.store,
            CityLocator(catalog.cities),
            EntityEngagementConfig(half_life_hours=settings.exploration.half_life_hours),
        ),
    )


def catalog_broadcast(settings: Settings) -> CatalogBroadcast | None:
    """Catalog changes fan out to the other replicas when Redis is configured."""
    if not settings.redis.url:
        return None
    import redis

    return CatalogBroadcast(redis.Redis.from_url(settings.redis.url), settings.redis.key_prefix)


def warm_features(state: ServingState, settings: Settings, events: EventLog) -> int:
    """Feed the event log into the online features (once per Redis, every start in memory)."""
    if settings.redis.url:
        import redis

        client = redis.Redis.from_url(settings.redis.url)
        if not client.set(f"{settings.redis.key_prefix}:{WARM_MARKER}", "1", nx=True):
            return 0  # another replica (or an earlier start) already warmed the shared store
    started = time.perf_counter()
    table = events.read()
    if table.num_rows:
        state.features.ingest(table)
        if state.engagement is not None:
            state.engagement.ingest(table)
        state.features.refresh_snapshots(table, table.column("ts")[-1].as_py())
    log.info(
        "features warmed",
        extra={"events": table.num_rows, "seconds": round(time.perf_counter() - started, 2)},
    )
    return int(table.num_rows)


def load_state(settings: Settings, data_dir: Path | None = None) -> ServingState:
    """Load the catalog, replay catalog changes, and warm the features from the event log."""
    root = data_dir or settings.data.dir
    state = build_state(load_catalog(root / CATALOG_DIR), settings, data_dir=root)
    replay_catalog_changes(state)
    warm_features(state, settings, EventLog(root / EVENTS_DIR))
    return state


def replay_catalog_changes(state: ServingState) -> None:
    """Re-apply the changes logged since the last checkpoint, then checkpoint them."""
    from palate.serving.catalog_api import apply_change

    replayed = 0
    for op, body in state.changelog.replay():
        apply_change(state.editor, op, body)
        replayed += 1
    if replayed:
        state.editor.checkpoint()
        state.changelog.truncate()
        state.features.update_attributes(venue_attributes(state.catalog))
