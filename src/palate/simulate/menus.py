"""Menus and shelves: every venue's items as columns, chains sharing one menu."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palate.simulate.config import CitySpec
from palate.simulate.cuisines import (
    CUISINES,
    FLAG_ALCOHOL,
    GROCERY_SHELVES,
    ITEM_CATEGORIES,
    Cuisine,
    parse_template,
)
from palate.simulate.venues import VenueTable

LEVEL_PRICE = np.array([0.0, 0.8, 1.0, 1.25, 1.6])
CATEGORY_CODE = {name: code for code, name in enumerate(ITEM_CATEGORIES)}

Menu = list[tuple[str, int, float, int, float]]  # name, category, EUR price, flags, popularity


@dataclass(frozen=True, slots=True)
class ItemTable:
    """Items as columns; item ``i`` has id ``f"i{i}"``; a venue's items are contiguous.

    ``popularity`` is the latent log-weight with which an item is picked within its category.
    """

    names: tuple[str, ...]
    venue: np.ndarray
    category: np.ndarray
    price: np.ndarray
    flags: np.ndarray
    popularity: np.ndarray
    venue_start: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


def _pick(
    rng: np.random.Generator, template: str, low: int, high: int
) -> list[tuple[str, int, int]]:
    """A subset of a template, keeping template order (the classics come first)."""
    entries = parse_template(template)
    k = min(len(entries), int(rng.integers(low, high + 1)))
    chosen = np.sort(rng.choice(len(entries), size=k, replace=False))
    return [(entries[i][0], entries[i][1], int(rank)) for rank, i in enumerate(chosen)]


def _restaurant_menu(cuisine: Cuisine, level: int, rng: np.random.Generator) -> Menu:
    base = cuisine.price * LEVEL_PRICE[level]
    sections = (
        ("mains", _pick(rng, cuisine.mains, 5, 10), base, 0.12),
        ("sides", _pick(rng, cuisine.sides, 2, 5), 0.38 * base, 0.15),
        ("drinks", _pick(rng, cuisine.drinks, 3, 7), 3.6, 0.12),
        ("desserts", _pick(rng, cuisine.desserts, 0, 3), 0.5 * base, 0.12),
    )
    menu: Menu = []
    for category, entries, price, spread in sections:
        for name, flags, rank in entries:
            cost = price * (2.2 if flags & FLAG_ALCOHOL else 1.0) * rng.lognormal(0.0, spread)
            popularity = rng.normal(0.0, 0.7) - 0.1 * rank
            menu.append((name, CATEGORY_CODE[category], cost, flags, popularity))
    return menu


def _grocery_menu(level: int, rng: np.random.Generator) -> Menu:
    menu: Menu = []
    for category, (template, price) in GROCERY_SHELVES.items():
        entries = parse_template(template)
        for rank, (name, flags) in enumerate(entries):
            if rank == 0 or rng.random() < 0.8:  # never an empty shelf
                cost = price * (0.9 + 0.1 * level) * rng.lognormal(0.0, 0.3)
                menu.append((name, CATEGORY_CODE[category], cost, flags, rng.normal(0.0, 0.8)))
    return menu


def _menu(cuisine: int, level: int, rng: np.random.Generator) -> Menu:
    profile = CUISINES[cuisine]
    return (
        _grocery_menu(level, rng) if profile.is_grocery else _restaurant_menu(profile, level, rng)
    )


def round_prices(eur: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Shelf prices: euros end in .40 or .90, kronor in 4 or 9.

    >>> round_prices(np.array([12.47, 12.47]), np.array([1.0, 11.0])).tolist()
    [12.4, 134.0]
    """
    local = eur * factor
    euro_like = np.maximum(np.round(local * 2) / 2 - 0.1, 0.9)
    krona_like = np.maximum(np.round(local / 5) * 5 - 1, 9.0)
    return np.asarray(np.round(np.where(factor >= 5, krona_like, euro_like), 2))


def make_items(
    venues: VenueTable, cities: tuple[CitySpec, ...], rng: np.random.Generator
) -> ItemTable:
    """Every venue's items; the venues of one chain repeat the chain's menu."""
    chain_menus: dict[int, Menu] = {}
    rows: list[Menu] = []
    for v in range(len(venues)):
        brand, cuisine, level = (
            int(venues.brand[v]),
            int(venues.cuisine[v]),
            int(venues.price_level[v]),
        )
        if brand < 0:
            rows.append(_menu(cuisine, level, rng))
            continue
        if brand not in chain_menus:
            chain_menus[brand] = _menu(cuisine, level, rng)
        rows.append(chain_menus[brand])
    sizes = np.array([len(menu) for menu in rows])
    flat = [entry for menu in rows for entry in menu]
    venue = np.repeat(np.arange(len(venues), dtype=np.int32), sizes)
    factor = np.array([c.market.price_factor for c in cities])[venues.city[venue]]
    return ItemTable(
        names=tuple(entry[0] for entry in flat),
        venue=venue,
        category=np.array([entry[1] for entry in flat], dtype=np.int8),
        price=round_prices(np.array([entry[2] for entry in flat]), factor),
        flags=np.array([entry[3] for entry in flat], dtype=np.int8),
        popularity=np.array([entry[4] for entry in flat]),
        venue_start=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
    )
