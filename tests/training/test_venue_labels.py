"""Impressions get the best outcome that followed them in the same request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from palate.domain import AddToCart, Click, EntityKind, Impression, Order, OrderLine, Premise
from palate.events.codec import events_to_table
from palate.training.venue_ranker.labels import labelled_impressions

T0 = datetime(2026, 9, 18, 17, 0, tzinfo=UTC)


def _shown(request: str, venues: list[str], at: datetime) -> list[Impression]:
    return [
        Impression(
            event_id=f"{request}-{i}",
            user_id="u1",
            ts=at,
            request_id=request,
            premise=Premise.DISCOVERY,
            entity_kind=EntityKind.VENUE,
            entity_id=v,
            position=i,
        )
        for i, v in enumerate(venues)
    ]


def test_labels_grade_order_over_cart_over_click_over_shown() -> None:
    later = T0 + timedelta(minutes=2)
    events = [
        *_shown("r1", ["a", "b", "c", "d"], T0),
        Click(
            event_id="c1",
            user_id="u1",
            ts=later,
            entity_kind=EntityKind.VENUE,
            entity_id="b",
            request_id="r1",
        ),
        Click(
            event_id="c2",
            user_id="u1",
            ts=later,
            entity_kind=EntityKind.VENUE,
            entity_id="c",
            request_id="r1",
        ),
        AddToCart(
            event_id="a1", user_id="u1", ts=later, venue_id="c", item_id="i1", request_id="r1"
        ),
        Click(
            event_id="c3",
            user_id="u1",
            ts=later,
            entity_kind=EntityKind.VENUE,
            entity_id="d",
            request_id="r1",
        ),
        Order(
            event_id="o1",
            user_id="u1",
            ts=later,
            order_id="o1",
            venue_id="d",
            lines=(OrderLine("i9", 1, 10.0),),
            total=10.0,
            request_id="r1",
        ),
        # the same venue clicked from another request does not label this one
        *_shown("r2", ["a"], T0 + timedelta(hours=1)),
        Order(
            event_id="o2",
            user_id="u1",
            ts=T0 + timedelta(hours=2),
            order_id="o2",
            venue_id="a",
            lines=(),
            total=0.0,
            request_id="r2",
        ),
    ]
    frame = labelled_impressions(events_to_table(events))
    labels = {
        (r, v): label for r, v, label in frame.select("request_id", "venue_id", "label").rows()
    }
    assert labels == {
        ("r1", "a"): 0,
        ("r1", "b"): 1,
        ("r1", "c"): 2,
        ("r1", "d"): 3,
        ("r2", "a"): 3,
    }
    assert frame["position"].to_list() == [0, 1, 2, 3, 0]
