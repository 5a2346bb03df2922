"""The two-stage learned ranker: a cheap score for every candidate, then the GBDT on the top K.

Stage 1 (the heuristic, vectorised) orders all candidates; stage 2 builds one feature matrix
for the best ``top_k`` and scores it with the model in a single batched call. Candidates past
the top K get scores strictly below every model score, spaced by their stage-1 rank, so the
final order is the top K by the model, then the rest by stage 1. K bounds the latency.

The model comes from a :class:`ModelSource` read once per request, so a hot swap between two
requests never mixes two models in one ranking. Any failure (no model, a feature the model
needs and the pipeline did not hydrate, a non-finite score) raises, and the pipeline hands
over to the next scorer of its chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.stages import RankedScores, Scorer, descending_order
from palate.pipeline.trace import StageNotApplicableError
from palate.ranking.compiled import FloatMatrix, Predictor, load_predictor
from palate.ranking.embedding_features import (
    EMBEDDINGS_DIR,
    VenueFactors,
    load_item_factors,
    load_venue_factors,
)
from palate.ranking.model_store import ModelVersion

DEFAULT_TOP_K = 200
Rows = npt.NDArray[np.integer[Any]]

_SERVED: ContextVar[ModelVersion | None] = ContextVar("served_model", default=None)


class ModelUnavailableError(StageNotApplicableError):
    """No model is loaded yet: the next scorer serves, and the answer is not degraded."""


class MissingFeaturesError(KeyError):
    """The model needs feature columns the candidates do not carry."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(f"candidates lack the model's features {list(missing)}")
        self.missing = tuple(missing)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A registered version with its ready predictor: the unit the server swaps."""

    version: ModelVersion
    predictor: Predictor
    factors: VenueFactors | None = None  # the embeddings trained with it, if any
    item_factors: VenueFactors | None = None  # customer × item embeddings shipped with it

    @property
    def features(self) -> tuple[str, ...]:
        """The model's feature columns, in its order."""
        return self.version.features


class ModelSource(Protocol):
    """Where the scorer finds the model to use for this request."""

    @property
    def current(self) -> LoadedModel | None:
        """The model to use now, or None if none is ready."""
        ...


@dataclass(frozen=True, slots=True)
class StaticModel:
    """A fixed model, for offline evaluation and benchmarks."""

    model: LoadedModel

    @property
    def current(self) -> LoadedModel:
        """Always the same model."""
        return self.model


def load_model(version: ModelVersion, *, compiled: bool = True) -> LoadedModel:
    """Load (and compile, or reuse the compiled cache of) a registered version."""
    predictor = load_predictor(
        version.model_file, version.compiled_dir if compiled else None, compiled=compiled
    )
    if predictor.n_features != len(version.features):
        raise ValueError(
            f"{version.label}: model has {predictor.n_features} features, "
            f"metadata lists {len(version.features)}"
        )
    embeddings = version.path / EMBEDDINGS_DIR
    return LoadedModel(
        version, predictor, load_venue_factors(embeddings), load_item_factors(embeddings)
    )


def served_factors(models: ModelSource) -> VenueFactors | None:
    """The embeddings of the model ``models`` serves now (``None`` without model or factors)."""
    loaded = models.current
    return None if loaded is None else loaded.factors


def served_item_factors(models: ModelSource) -> VenueFactors | None:
    """The customer × item embeddings shipped with the model ``models`` serves now, if any."""
    loaded = models.current
    return None if loaded is None else loaded.item_factors


def served_model() -> ModelVersion | None:
    """The version the learned scorer used in this request's context, if it scored it.

    Context-local, so concurrent requests each see their own; a fallback leaves it None.
    """
    return _SERVED.get()


def feature_matrix(
    candidates: Candidates, features: Sequence[str], rows: Rows | None = None
) -> FloatMatrix:
    """The C-contiguous float64 matrix of ``features`` (in that order) for ``rows``.

    >>> c = Candidates(np.arange(3, dtype=np.int32), {"a": np.array([1.0, 2, 3]), "b": np.zeros(3)})
    >>> feature_matrix(c, ["b", "a"], np.array([2, 0])).tolist()
    [[0.0, 3.0], [0.0, 1.0]]
    """
    columns = candidates.features
    n_rows = len(candidates) if rows is None else len(rows)
    # Filled a feature per row of the transpose, each a contiguous write (a take straight into
    # it when rows are chosen), then transposed into the row-major matrix the forest reads.
    by_feature = np.empty((len(features), n_rows), dtype=np.float64)
    missing: list[str] = []
    for j, name in enumerate(features):  # one pass per feature column, never per candidate
        try:
            column = columns[name]
        except KeyError:
            missing.append(name)
            continue
        if rows is None:
            by_feature[j] = column
        else:  # rows come from an argsort, so always in range; "raise" would buffer the out
            column.take(rows, out=by_feature[j], mode="clip")
    if missing:
        raise MissingFeaturesError(missing)
    return np.ascontiguousarray(by_feature.T)


class LearnedScorer:
    """Stage 1 over all candidates, the GBDT over the stage-1 top K, in one batched call."""

    name = "learned"

    def __init__(
        self,
        models: ModelSource,
        first_stage: Scorer[RankingRequest],
        *,
        top_k: int = DEFAULT_TOP_K,
    ) -> None:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.models = models
        self.first_stage = first_stage
        self.top_k = top_k

    def score(self, request: RankingRequest, candidates: Candidates) -> FloatArray:
        """One score per candidate, in input order; raises so the pipeline can fall back."""
        return self.score_ranked(request, candidates).scores

    def score_ranked(self, request: RankingRequest, candidates: Candidates) -> RankedScores:
        """The scores and their stable descending order (the pipeline runner's sort, done
        knowing that the rows below the top K already sit in stage 1's order)."""
        _SERVED.set(None)
        loaded = self.models.current  # once: a swap mid-request must not mix two models
        if loaded is None:
            raise ModelUnavailableError("no ranking model is loaded")
        if len(candidates) <= self.top_k:
            scores = self._model_scores(loaded, candidates, None)
            ranked = RankedScores.of(scores)
        else:
            ranked = self._two_stage(request, candidates, loaded)
        _SERVED.set(loaded.version)
        return ranked

    def _two_stage(
        self, request: RankingRequest, candidates: Candidates, loaded: LoadedModel
    ) -> RankedScores:
        first = np.asarray(self.first_stage.score(request, candidates), dtype=np.float64)
        if first.shape != (len(candidates),):
            raise ValueError(f"stage 1 gave {first.shape} scores for {len(candidates)}")
        order = descending_order(first)  # NaN sorts last; ties keep input order
        top, rest = order[: self.top_k], order[self.top_k :]
        model_scores = self._model_scores(loaded, candidates, top)
        scores = np.empty(len(candidates), dtype=np.float64)
        scores[top] = model_scores
        scores[rest] = model_scores.min() - 1.0 - np.arange(len(rest), dtype=np.float64)
        # The rest score below every model score, already in order: only the top K is sorted,
        # ties by row as a stable sort of all the scores would break them.
        ranked_top = top[np.lexsort((top, -model_scores))]
        return RankedScores(scores, np.concatenate((ranked_top, rest)).astype(np.int32))

    @staticmethod
    def _model_scores(loaded: LoadedModel, candidates: Candidates, rows: Rows | None) -> FloatArray:
        matrix = feature_matrix(candidates, loaded.features, rows)
        scores = np.asarray(loaded.predictor.predict(matrix), dtype=np.float64)
        if not np.isfinite(scores).all():
            raise ValueError(f"{loaded.version.label} returned non-finite scores")
        return scores
