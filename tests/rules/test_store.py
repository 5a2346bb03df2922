"""Admin-API rules persist in the data directory and reach every process reading it."""

from __future__ import annotations

from pathlib import Path

from palate.rules.config import RuleBook, parse_rule
from palate.rules.store import RuleStore

PIN = {"id": "p", "kind": "pin", "target": "v9", "slot": 0}


def test_rules_survive_a_new_store_and_deletes_too(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    store = RuleStore(path, RuleBook())
    store.put(parse_rule(PIN))
    reopened = RuleBook()
    RuleStore(path, reopened)
    assert [r.id for _, r in reopened.everything()] == ["p"]
    assert store.delete("p")
    assert not store.delete("p")
    again = RuleBook()
    RuleStore(path, again)
    assert again.everything() == []
    assert [p.name for p in tmp_path.iterdir()] == ["rules.json"]  # no temporary files left


def test_a_write_by_another_process_is_picked_up_on_refresh(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    mine, theirs = RuleBook(), RuleBook()
    reader = RuleStore(path, mine)
    RuleStore(path, theirs).put(parse_rule(PIN))
    reader.refresh()
    assert [r.id for _, r in mine.everything()] == ["p"]


def test_config_rules_are_listed_but_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    book = RuleBook(config=(parse_rule({**PIN, "id": "from-config"}),))
    RuleStore(path, book).put(parse_rule(PIN))
    assert [(s, r.id) for s, r in book.everything()] == [("config", "from-config"), ("api", "p")]
    assert "from-config" not in path.read_text()
