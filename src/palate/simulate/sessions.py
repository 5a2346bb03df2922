"""One batch of sessions: what is deliverable, what is shown, what is clicked, carted, ordered.

A customer sees the top of the policy's ranking and clicks by position bias × true utility.
Habitual customers may also go straight to a venue they ordered from before (search or
"order again"); such clicks have no request id, and neither do the carts and orders that
follow them, so the orders attributable to the ranking are those with a request id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palate.domain.hours import MINUTES_PER_WEEK
from palate.simulate.baskets import Baskets, make_baskets
from palate.simulate.clock import SECOND_US
from palate.simulate.event_table import ADD_TO_CART, CLICK, IMPRESSION, ORDER, EventBuffer
from palate.simulate.menus import ItemTable
from palate.simulate.policy import RankingPolicy, SessionBatch
from palate.simulate.spatial import haversine_m
from palate.simulate.truth import GroundTruth
from palate.simulate.venues import STATUS_PAUSED, VenueTable

SESSION_MINUTES = 14  # every event of a session happens within this many minutes of its start
NOISE = 1.0  # Gumbel scale of a session's momentary taste
POSITION_DECAY = 0.7  # examination probability (1 + position) ** -decay
CLICK_AT = 1.0  # utility at which an examined venue is clicked half of the time
DIRECT_RATE = 0.6  # chance a customer with history goes straight to a past venue
ORDER_AT = 0.0  # utility at which a customer with full intent orders half of the time
ABANDON_RATE = 0.2  # carts left behind by those who do not order


@dataclass(frozen=True, slots=True)
class Sessions:
    """Sessions of one batch: request number, customer, time, place and local clock."""

    request: np.ndarray
    user: np.ndarray
    ts_us: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    day: np.ndarray
    weekday: np.ndarray
    hour: np.ndarray
    minute_of_week: np.ndarray

    def take(self, rows: np.ndarray) -> Sessions:
        """A subset of the sessions (index or boolean mask)."""
        return Sessions(*(getattr(self, name)[rows] for name in self.__slots__))


@dataclass(frozen=True, slots=True)
class Choice:
    """Sessions that settled on a venue, with its session utility and when the cart opened."""

    sessions: Sessions
    venue: np.ndarray
    value: np.ndarray
    cart_ts: np.ndarray
    listed: np.ndarray


@dataclass(slots=True)
class Market:
    """The simulated marketplace and its evolving state: order histories and popularity."""

    venues: VenueTable
    items: ItemTable
    truth: GroundTruth
    policy: RankingPolicy
    buffer: EventBuffer
    rng: np.random.Generator
    slots: int
    past_orders: np.ndarray
    venue_orders: np.ndarray
    baskets: list[Baskets]
    n_orders: int = 0

    def run(self, sessions: Sessions, city: int) -> None:
        """Serve, react to and record one city's sessions, then update the histories."""
        span = self.venues.of_city(city)
        dist_m, reachable = self._reachable(sessions, span)
        keep = np.asarray(reachable.any(axis=1))
        if not keep.any():
            return
        s, dist_m, reachable = sessions.take(keep), dist_m[keep], reachable[keep]
        venue = np.arange(span.start, span.stop)[None, :]
        past = self.past_orders[s.user[:, None], venue]
        utility = self.truth.static_utility(
            s.user[:, None], venue, s.hour[:, None], s.day[:, None], dist_m / 1000
        )
        utility += self.truth.habit[s.user][:, None] * np.log1p(past)
        utility += NOISE * self.rng.gumbel(size=utility.shape)
        shown = self._rank(s, city, span.start, dist_m, reachable, past)
        choice = self._browse(s, span.start, utility, shown, reachable & (past > 0))
        self._checkout(choice)

    def _reachable(self, s: Sessions, span: slice) -> tuple[np.ndarray, np.ndarray]:
        """Distances and which venues deliver here, are live, and stay open all session."""
        v = self.venues
        dist_m = haversine_m(s.lat[:, None], s.lon[:, None], v.lat[None, span], v.lon[None, span])
        rows = np.arange(span.start, span.stop)[None, :]
        later = (s.minute_of_week + SESSION_MINUTES) % MINUTES_PER_WEEK
        is_open = (
            v.open_minutes[rows, s.minute_of_week[:, None]] & v.open_minutes[rows, later[:, None]]
        )
        live = (v.status[span] != STATUS_PAUSED) & (v.onboard_day[span] <= s.day[:, None])
        return dist_m, (dist_m <= v.radius_m[span] - 1.0) & is_open & live

    def _rank(
        self,
        s: Sessions,
        city: int,
        first: int,
        dist_m: np.ndarray,
        reachable: np.ndarray,
        past: np.ndarray,
    ) -> np.ndarray:
        """Venue columns (from the city's first venue) shown per session, ``-1`` padded."""
        k = int(reachable.sum(axis=1).max())
        cols = np.argsort(~reachable, axis=1, kind="stable")[:, :k]
        valid = np.take_along_axis(reachable, cols, axis=1)
        batch = SessionBatch(
            request=s.request, user=s.user, ts_us=s.ts_us, lat=s.lat, lon=s.lon, hour=s.hour,
            weekday=s.weekday, day=s.day, city=city, venues=self.venues,
            venue_orders=self.venue_orders,
            distance_m=np.take_along_axis(dist_m, cols, axis=1),
            past_orders=np.take_along_axis(past, cols, axis=1),
        )  # fmt: skip
        score = np.where(
            valid, self.policy.score(batch, np.where(valid, cols + first, -1)), -np.inf
        )
        top = np.argsort(-score, axis=1, kind="stable")[:, : self.slots]
        shown_cols = np.take_along_axis(cols, top, axis=1)
        return np.where(np.take_along_axis(valid, top, axis=1), shown_cols, -1)

    def _emit_listed(
        self,
        kind: int,
        s: Sessions,
        shown: np.ndarray,
        first: int,
        mask: np.ndarray,
        ts: np.ndarray,
    ) -> None:
        row, position = np.nonzero(mask)
        self.buffer.add(
            kind, ts[row, position], s.user[row], s.lat[row], s.lon[row],
            request=s.request[row], position=position, venue=shown[row, position] + first,
        )  # fmt: skip

    def _direct(self, utility: np.ndarray, returnable: np.ndarray) -> np.ndarray:
        """The past venue a customer would go straight to, or ``-1``."""
        best = np.argmax(np.where(returnable, utility, -np.inf), axis=1)
        goes = returnable.any(axis=1) & (self.rng.random(len(best)) < DIRECT_RATE)
        return np.where(goes, best, -1)

    def _browse(
        self,
        s: Sessions,
        first: int,
        utility: np.ndarray,
        shown: np.ndarray,
        returnable: np.ndarray,
    ) -> Choice:
        """Impressions and clicks; returns the venue each session settles on, if any."""
        rows = np.arange(len(shown))
        seen = shown >= 0
        start = np.broadcast_to(s.ts_us[:, None], shown.shape)
        self._emit_listed(IMPRESSION, s, shown, first, seen, start)
        shown_u = np.take_along_axis(utility, np.maximum(shown, 0), axis=1)
        examined = (1.0 + np.arange(shown.shape[1])) ** -POSITION_DECAY
        clicks = self.rng.random(shown.shape) < examined / (1.0 + np.exp(CLICK_AT - shown_u))
        direct = self._direct(utility, returnable)
        in_list = seen & (shown == direct[:, None]) & (direct[:, None] >= 0)
        clicked = seen & (in_list | clicks)
        direct[in_list.any(axis=1)] = -1
        click_ts = start + self._click_delay_us(shown.shape)
        self._emit_listed(CLICK, s, shown, first, clicked, click_ts)
        direct_ts = s.ts_us + 20 * SECOND_US
        gone = direct >= 0
        self.buffer.add(CLICK, direct_ts[gone], s.user[gone], s.lat[gone], s.lon[gone],
                        venue=direct[gone] + first)  # fmt: skip
        list_u = np.where(clicked, shown_u, -np.inf)
        best = np.argmax(list_u, axis=1)
        from_list = Visit(shown[rows, best], list_u[rows, best], click_ts[rows, best])
        direct_u = np.where(gone, utility[rows, np.maximum(direct, 0)], -np.inf)
        return _settle(s, first, from_list, Visit(direct, direct_u, direct_ts))

    def _click_delay_us(self, shape: tuple[int, int]) -> np.ndarray:
        """Seconds to scroll to a position and decide, as microseconds."""
        pause = np.minimum(self.rng.exponential(8.0, shape), 60.0)
        return ((3.0 + 4.0 * np.arange(shape[1]) + pause) * SECOND_US).astype(np.int64)

    def _checkout(self, c: Choice) -> None:
        """Carts for the keen, orders for the keenest; abandoned carts never become orders."""
        p_order = self.truth.intent[c.sessions.user] / (1.0 + np.exp(ORDER_AT - c.value))
        draw = self.rng.random(len(c.venue))
        carted = (draw < p_order) | (draw > 1.0 - ABANDON_RATE * (1.0 - p_order))
        s, venue, ordered = c.sessions.take(carted), c.venue[carted], (draw < p_order)[carted]
        request = np.where(c.listed[carted], s.request, -1)
        vegetarian = self.truth.vegetarian[s.user]
        carts = make_baskets(venue, vegetarian, self.venues.cuisine, self.items, self.rng)
        line = carts.order
        rank = np.arange(len(line)) - np.searchsorted(line, line)
        step = (25.0 * (rank + 1) + self.rng.uniform(0, 10, len(line))) * SECOND_US
        atc_ts = c.cart_ts[carted][line] + step.astype(np.int64)
        self.buffer.add(ADD_TO_CART, atc_ts, s.user[line], s.lat[line], s.lon[line],
                        request=request[line], venue=venue[line], item=carts.item,
                        quantity=carts.quantity)  # fmt: skip
        last = np.full(len(venue), np.iinfo(np.int64).min)
        np.maximum.at(last, line, atc_ts)
        last += (self.rng.uniform(45, 240, len(venue)) * SECOND_US).astype(np.int64)
        self._place(
            s.take(ordered),
            venue[ordered],
            request[ordered],
            last[ordered],
            _only(carts, ordered),
        )

    def _place(
        self, s: Sessions, venue: np.ndarray, request: np.ndarray, ts_us: np.ndarray, lines: Baskets
    ) -> None:
        """Number, record and remember the orders."""
        number = self.n_orders + np.arange(len(venue))
        self.buffer.add(
            ORDER, ts_us, s.user, s.lat, s.lon, request=request, venue=venue, order=number
        )
        self.baskets.append(
            Baskets(
                lines.order + self.n_orders,
                lines.item,
                lines.quantity,
                lines.unit_price,
                lines.total,
            )
        )
        self.n_orders += len(venue)
        np.add.at(self.past_orders, (s.user, venue), 1)
        self.venue_orders += np.bincount(venue, minlength=len(self.venue_orders))


@dataclass(frozen=True, slots=True)
class Visit:
    """A venue a session considered (column, ``-1`` for none), its utility and when."""

    column: np.ndarray
    utility: np.ndarray
    ts_us: np.ndarray


def _settle(s: Sessions, first: int, listed: Visit, direct: Visit) -> Choice:
    """The better of the best clicked and the directly visited venue, per session."""
    from_list = listed.utility >= direct.utility
    value = np.maximum(listed.utility, direct.utility)
    chose = np.isfinite(value)
    venue = np.where(from_list, listed.column, direct.column) + first
    cart_ts = np.where(from_list, listed.ts_us, direct.ts_us)
    return Choice(s.take(chose), venue[chose], value[chose], cart_ts[chose], from_list[chose])


def _only(carts: Baskets, keep: np.ndarray) -> Baskets:
    """The carts flagged ``keep``, renumbered from zero in order."""
    kept_line = keep[carts.order]
    number = np.cumsum(keep) - 1
    return Baskets(
        number[carts.order[kept_line]],
        carts.item[kept_line],
        carts.quantity[kept_line],
        carts.unit_price[kept_line],
        carts.total[keep],
    )
