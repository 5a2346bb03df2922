"""Baskets with structure: a main, often a side and a drink; a mixed shop at grocers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palate.simulate.cuisines import CUISINES, FLAG_VEGETARIAN, GROCERY_SHELVES
from palate.simulate.menus import CATEGORY_CODE, ItemTable

MAIN, SIDE, DRINK, DESSERT = (CATEGORY_CODE[c] for c in ("mains", "sides", "drinks", "desserts"))
SHELF_CODES = np.array([CATEGORY_CODE[c] for c in GROCERY_SHELVES])
SHELF_WEIGHTS = np.array([0.24, 0.2, 0.12, 0.13, 0.12, 0.08, 0.07, 0.04])
SECOND_MAIN = 0.3  # someone else is eating too
VEG_PULL = 3.0  # how strongly a vegetarian lean tilts item choice
MAX_LINES = 14


@dataclass(frozen=True, slots=True)
class Baskets:
    """Order lines sorted by order; ``total[o]`` is the sum of order ``o``'s lines."""

    order: np.ndarray
    item: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    total: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def _restaurant_slots(
    orders: np.ndarray, cuisine: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    extras = np.array([c.extras for c in CUISINES])[cuisine]
    second = orders[rng.random(len(orders)) < SECOND_MAIN]
    slots = [
        np.stack([orders, np.full(len(orders), MAIN)]),
        np.stack([second, np.full(len(second), MAIN)]),
    ]
    # A second eater makes extras likelier: draw them against a boosted chance.
    boost = np.where(np.isin(orders, second), 1.3, 1.0)
    for column, code in enumerate((SIDE, DRINK, DESSERT)):
        chosen = orders[rng.random(len(orders)) < extras[:, column] * boost]
        slots.append(np.stack([chosen, np.full(len(chosen), code)]))
    return slots


def _grocery_slots(orders: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    count = np.minimum(3 + rng.poisson(5.0, len(orders)), MAX_LINES)
    owner = np.repeat(orders, count)
    shelf = SHELF_CODES[
        rng.choice(len(SHELF_CODES), size=len(owner), p=SHELF_WEIGHTS / SHELF_WEIGHTS.sum())
    ]
    return [np.stack([owner, shelf])]


def _expand(slot_venue: np.ndarray, items: ItemTable) -> tuple[np.ndarray, np.ndarray]:
    """Every (slot, item of the slot's venue) pair, as parallel arrays."""
    first = items.venue_start[slot_venue]
    size = items.venue_start[slot_venue + 1] - first
    slot = np.repeat(np.arange(len(slot_venue)), size)
    offset = np.arange(len(slot)) - np.repeat(np.cumsum(size) - size, size)
    return slot, np.repeat(first, size) + offset


def _choose(
    slot_cat: np.ndarray,
    slot_veg: np.ndarray,
    slot_venue: np.ndarray,
    items: ItemTable,
    rng: np.random.Generator,
) -> np.ndarray:
    """One item per slot (``-1`` when the venue has none of that category): Gumbel-max."""
    chosen = np.full(len(slot_venue), -1, dtype=np.int64)
    slot, item = _expand(slot_venue, items)
    if len(slot) == 0:
        return chosen
    vegetarian = (items.flags[item] & FLAG_VEGETARIAN) > 0
    score = items.popularity[item] + VEG_PULL * (slot_veg[slot] - 0.3) * vegetarian
    score = score + rng.gumbel(size=len(item))
    score = np.where(items.category[item] == slot_cat[slot], score, -np.inf)
    order = np.lexsort((-score, slot))
    first = np.flatnonzero(np.r_[True, slot[order][1:] != slot[order][:-1]])
    best = order[first]
    chosen[slot[best]] = np.where(np.isfinite(score[best]), item[best], -1)
    return chosen


def make_baskets(
    venue: np.ndarray,
    vegetarian: np.ndarray,
    venue_cuisine: np.ndarray,
    items: ItemTable,
    rng: np.random.Generator,
) -> Baskets:
    """Lines of orders ``0..len(venue)-1`` at those venues by customers of that vegetarian lean."""
    orders = np.arange(len(venue))
    cuisine = venue_cuisine[venue]
    grocery = np.array([c.is_grocery for c in CUISINES])[cuisine]
    parts = _restaurant_slots(orders[~grocery], cuisine[~grocery], rng) + _grocery_slots(
        orders[grocery], rng
    )
    slot_order, slot_cat = np.concatenate(parts, axis=1)
    item = _choose(slot_cat, vegetarian[slot_order], venue[slot_order], items, rng)
    keep = item >= 0
    slot_order, slot_cat, item = slot_order[keep], slot_cat[keep], item[keep]
    quantity = np.where(slot_cat == MAIN, 1 + (rng.random(len(item)) < 0.12), 1)
    quantity = np.where(grocery[slot_order], rng.geometric(0.6, len(item)), quantity)
    key, inverse = np.unique(slot_order * len(items) + item, return_inverse=True)
    qty = np.bincount(inverse, weights=quantity).astype(np.int32)
    line_order, line_item = key // len(items), key % len(items)
    price = items.price[line_item]
    total = np.round(np.bincount(line_order, weights=qty * price, minlength=len(venue)), 2)
    return Baskets(line_order, line_item, qty, price, total)
