"""The next-basket evaluation's results: per split, averaged, as Markdown and a PNG chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from palate.training.next_basket.protocol import ProtocolConfig

BASELINE = "GP-TopFreq"
HEADLINE = "Recall@10"


@dataclass(frozen=True, slots=True)
class SplitOutcome:
    """One random user split: test metrics per method, validation Recall@10, tuned settings."""

    seed: int
    test: dict[str, dict[str, float]]
    validation: dict[str, float]
    settings: dict[str, str]
    data: dict[str, float]


@dataclass(frozen=True)
class NextBasketReport:
    """Results of :func:`~.evaluate.evaluate_next_basket`, averaged over the splits."""

    dataset: str
    config: ProtocolConfig
    ks: tuple[int, ...]
    splits: tuple[SplitOutcome, ...]
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def methods(self) -> tuple[str, ...]:
        """Method names in the order they were run."""
        return tuple(self.splits[0].test) if self.splits else ()

    def per_split(self, method: str, metric: str) -> list[float]:
        """A test metric of a method on every split."""
        return [split.test[method][metric] for split in self.splits]

    def metric(self, method: str, metric: str) -> float:
        """A test metric of a method, averaged over the splits (the paper averages folds)."""
        return float(np.mean(self.per_split(method, metric)))

    def data(self, name: str) -> float:
        """A data figure (users, items, repeat share …) averaged over the splits."""
        return float(np.mean([split.data[name] for split in self.splits]))

    def best(self, metric: str = HEADLINE) -> str:
        """The method with the highest mean ``metric``."""
        return max(self.methods, key=lambda method: self.metric(method, metric))

    def to_markdown(self) -> str:
        """Tables of the paper's metrics, the repeat/explore split and the data, as Markdown."""
        parts = [
            f"### Next basket: {self.dataset}",
            self._data_line(),
            _table(self, _paper_metrics(self.ks)),
            _table(self, _repeat_metrics(self.ks)),
            self._comparison(),
            self._settings(),
            *[f"*{note}*" for note in self.notes],
        ]
        return "\n\n".join(part for part in parts if part) + "\n"

    def save(self, directory: Path) -> tuple[Path, Path]:
        """Write ``next_basket_<dataset>.md`` and ``.png`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"next_basket_{self.dataset}"
        markdown = stem.with_suffix(".md")
        markdown.write_text(self.to_markdown(), encoding="utf-8")
        chart = stem.with_suffix(".png")
        _chart(self, chart)
        return markdown, chart

    def _data_line(self) -> str:
        c = self.config
        return (
            f"{len(self.splits)} random 72/8/20 user split{'s' if len(self.splits) > 1 else ''} "
            "(seeds "
            f"{', '.join(str(s.seed) for s in self.splits)}); "
            f"{self.data('users'):,.0f} users with {c.min_baskets}–{c.max_baskets or '∞'} baskets, "
            f"{self.data('items'):,.0f} items bought ≥ {c.min_item_count} times in history "
            f"baskets ({c.item_level} level), {self.data('test users'):,.0f} test users per "
            f"split. Target baskets: {self.data('mean target size'):.1f} items on average, "
            f"{self.data('repeat share'):.1%} of them repeats. Evaluation took "
            f"{self.seconds:.0f} s."
        )

    def _comparison(self) -> str:
        if BASELINE not in self.methods:
            return ""
        base = np.array(self.per_split(BASELINE, HEADLINE))
        lines = [f"{HEADLINE} minus {BASELINE}'s, per split:", ""]
        for method in self.methods:
            if method == BASELINE:
                continue
            delta = np.array(self.per_split(method, HEADLINE)) - base
            wins = int((delta > 0).sum())
            shown = ", ".join(f"{d:+.3f}" for d in delta)
            lines.append(
                f"- {method}: mean {delta.mean():+.4f} ({shown}); "
                f"ahead on {wins}/{len(delta)} splits"
            )
        return "\n".join(lines)

    def _settings(self) -> str:
        rows = ["Settings chosen on the validation users, per split:", ""]
        for split in self.splits:
            chosen = "; ".join(f"{name}: {value}" for name, value in split.settings.items())
            rows.append(f"- seed {split.seed}: {chosen}")
        return "\n".join(rows)


def _paper_metrics(ks: Sequence[int]) -> list[str]:
    return [f"{name}@{k}" for name in ("Recall", "NDCG", "PHR") for k in ks]


def _repeat_metrics(ks: Sequence[int]) -> list[str]:
    k = ks[0]
    names = ("Recall repeat", "Recall explore", "Repeat share", "Precision", "Coverage")
    return [*[f"{name}@{k}" for name in names], "MRR"]


def _table(report: NextBasketReport, metrics: Sequence[str]) -> str:
    header = "| Method | " + " | ".join(metrics) + " |"
    rule = "|---|" + "---:|" * len(metrics)
    best = {metric: report.best(metric) for metric in metrics}
    rows = [header, rule]
    for method in report.methods:
        cells = []
        for metric in metrics:
            value = f"{report.metric(method, metric):.4f}"
            cells.append(f"**{value}**" if best[metric] == method else value)
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _chart(report: NextBasketReport, path: Path) -> None:
    metrics = ["Recall@10", "NDCG@10"]
    methods = report.methods
    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = np.arange(len(methods))
    width = 0.38
    for offset, metric in enumerate(metrics):
        values = [report.metric(method, metric) for method in methods]
        errors = [float(np.std(report.per_split(method, metric))) for method in methods]
        axes.bar(positions + (offset - 0.5) * width, values, width, yerr=errors, label=metric)
    axes.set_xticks(positions, methods, rotation=20, ha="right", fontsize=8)
    axes.set_ylabel("mean over splits (bars: std)")
    axes.set_title(f"Next basket — {report.dataset}")
    top = max((report.metric(m, metric) for m in methods for metric in metrics), default=1.0)
    axes.set_ylim(0.0, top * 1.3)
    axes.legend(loc="upper left", ncols=2)
    figure.tight_layout()
    figure.savefig(path)
