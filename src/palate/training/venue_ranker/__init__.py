"""The venue ranker: training examples from logged impressions, LambdaMART, evaluation."""

from __future__ import annotations
