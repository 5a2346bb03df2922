"""Stage protocols, the pipeline runner and its trace: shapes only, no concrete stage."""

from __future__ import annotations

from palate.pipeline.candidates import Candidates
from palate.pipeline.runner import Pipeline, PipelineResult, StageError
from palate.pipeline.stages import CandidateSource, Filter, Hydrator, Scorer, Selector
from palate.pipeline.trace import StageNotApplicableError, StageTrace, Trace

__all__ = [
    "CandidateSource",
    "Candidates",
    "Filter",
    "Hydrator",
    "Pipeline",
    "PipelineResult",
    "Scorer",
    "Selector",
    "StageError",
    "StageNotApplicableError",
    "StageTrace",
    "Trace",
]
