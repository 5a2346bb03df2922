"""Durable storage of the admin API's rules: one JSON file in the data directory.

Writes go to a temporary file that is fsync'd and renamed over the old one, so a crash leaves
either the old or the new rule set, never half of one. Every server process on the data
directory re-reads the file when its modification stamp changes, so a rule written through one
worker reaches the others on their next request.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from palate.rules.config import Rule, RuleBook, parse_rule

RULES_FILE = "rules.json"


class RuleStore:
    """The runtime rules of a :class:`RuleBook`, persisted at ``path``."""

    def __init__(self, path: Path, book: RuleBook) -> None:
        self.path = path
        self.book = book
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.refresh()

    def _current_stamp(self) -> tuple[int, int] | None:
        # Every ranking request asks, and usually no rule was ever written: access() answers
        # "absent" without the exception a failed stat() builds (a quarter of the cost).
        if not os.access(self.path, os.F_OK):
            return None
        try:
            stat = self.path.stat()
        except FileNotFoundError:  # deleted in between
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def refresh(self) -> None:
        """Reload the book's runtime rules if the file changed since the last read or write."""
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return
        with self._lock:
            rules = [] if stamp is None else self._read()
            self.book.replace_runtime(rules)
            self._stamp = stamp

    def _read(self) -> list[Rule]:
        payload = json.loads(self.path.read_text(encoding="utf-8"))
        return [parse_rule(raw) for raw in payload["rules"]]

    def put(self, rule: Rule) -> None:
        """Add or replace a rule, durably."""
        self.refresh()
        with self._lock:
            self.book.put(rule)
            self._write()

    def delete(self, rule_id: str) -> bool:
        """Remove a rule, durably; False when there was none."""
        self.refresh()
        with self._lock:
            removed = self.book.delete(rule_id)
            if removed:
                self._write()
        return removed

    def _write(self) -> None:
        runtime = [
            rule.model_dump(mode="json")
            for source, rule in self.book.everything()
            if source == "api"
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rules-", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"rules": runtime}, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(self.path)
        self._stamp = self._current_stamp()
