"""Compiled trees score like LightGBM, cache their object, and fall back to LightGBM safely."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from palate.ranking.compiled import (
    LightGBMPredictor,
    cache_name,
    compile_model,
    load_predictor,
    probe_rows,
)
from tests.ranking.gbdt_models import FEATURES, train_ranker

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compiled") / "model.txt"
    train_ranker(seed=3, trees=60, leaves=15).save_model(str(path))
    return path


@pytest.fixture(scope="module")
def cache_dir(model_file: Path) -> Path:
    """Compiled once for the module; later tests load the cached object."""
    directory = model_file.parent / "compiled"
    compile_model(model_file, directory)
    return directory


def random_rows(seed: int, n: int) -> np.ndarray:
    """Inside and outside the training ranges, with missing values and exact zeros."""
    rng = np.random.default_rng(seed)
    rows = (
        rng.normal(scale=3.0, size=(n, len(FEATURES)))
        * rng.choice([1.0, 100.0, 5_000.0], n)[:, None]
    )
    rows[rng.random(rows.shape) < 0.05] = np.nan
    rows[rng.random(rows.shape) < 0.05] = 0.0
    return np.ascontiguousarray(rows)


def test_compiled_scores_match_lightgbm(model_file, cache_dir):
    compiled = compile_model(model_file, cache_dir)
    native = LightGBMPredictor(model_file)
    assert compiled.backend == "lleaves"
    assert compiled.n_features == native.n_features == len(FEATURES)
    for seed in range(3):
        rows = random_rows(seed, 2_000)
        expected = native.predict(rows)
        assert np.ptp(expected) > 0.1  # the trees do split on these rows
        np.testing.assert_allclose(compiled.predict(rows), expected, rtol=0, atol=TOLERANCE)
    probe = probe_rows(model_file)
    np.testing.assert_allclose(compiled.predict(probe), native.predict(probe), atol=TOLERANCE)


def test_direct_calls_score_exactly_like_lleaves_own_predict(model_file, cache_dir):
    compiled = compile_model(model_file, cache_dir)
    lleaves_model = compiled._model
    assert compiled._entry is not None  # the direct path is the one under test
    rows = random_rows(5, 777)
    expected = lleaves_model.predict(rows, n_jobs=1)
    np.testing.assert_array_equal(compiled.predict(rows), expected)  # straight to the entry
    # inputs the entry point cannot read as they are take lleaves' own converting path
    np.testing.assert_array_equal(compiled.predict(np.asfortranarray(rows)), expected)
    np.testing.assert_array_equal(compiled.predict(rows[::-1])[::-1], expected)
    np.testing.assert_array_equal(
        compiled.predict(rows.astype(np.float32)),
        lleaves_model.predict(rows.astype(np.float32), n_jobs=1),
    )
    assert compiled.predict(rows[:0]).shape == (0,)
    with pytest.raises(ValueError, match="dimension"):
        compiled.predict(rows[:, :-1])


def test_the_cached_object_is_reused_not_rebuilt(model_file, cache_dir):
    cache = cache_dir / cache_name()
    written = cache.stat().st_mtime_ns
    started = time.perf_counter()
    again = compile_model(model_file, cache_dir)
    assert time.perf_counter() - started < 0.2  # compiling this model takes ~0.5 s
    assert cache.stat().st_mtime_ns == written
    assert sorted(p.name for p in cache_dir.iterdir()) == [".compile.lock", cache.name]
    rows = random_rows(7, 100)
    np.testing.assert_allclose(
        again.predict(rows), LightGBMPredictor(model_file).predict(rows), atol=TOLERANCE
    )


def test_load_predictor_prefers_compiled_trees(model_file, cache_dir):
    assert load_predictor(model_file, cache_dir).backend == "lleaves"
    assert load_predictor(model_file, cache_dir, compiled=False).backend == "lightgbm"
    assert load_predictor(model_file, None).backend == "lightgbm"


def test_compilation_failure_falls_back_to_lightgbm_with_a_warning(model_file, tmp_path, caplog):
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("a file where the cache directory should be")
    with caplog.at_level(logging.WARNING, logger="palate.ranking.compiled"):
        predictor = load_predictor(model_file, not_a_directory)
    assert predictor.backend == "lightgbm"
    assert "serving with LightGBM" in caplog.text
    rows = random_rows(11, 50)
    np.testing.assert_array_equal(
        predictor.predict(rows), LightGBMPredictor(model_file).predict(rows)
    )


def test_concurrent_first_loads_share_one_published_object(model_file, tmp_path):
    fresh = tmp_path / "fresh"
    with ThreadPoolExecutor(3) as pool:
        predictors = list(pool.map(lambda _: compile_model(model_file, fresh), range(3)))
    rows = random_rows(13, 100)
    reference = LightGBMPredictor(model_file).predict(rows)
    for predictor in predictors:
        np.testing.assert_allclose(predictor.predict(rows), reference, atol=TOLERANCE)
    assert sorted(p.name for p in fresh.iterdir()) == [".compile.lock", cache_name()]
