"""The registry stores versions durably, numbers them uniquely, and guards promotions."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import lightgbm
import numpy as np
import pytest

from palate.ranking.compiled import CompilationError, cache_name
from palate.ranking.model_store import (
    FileModelStore,
    ModelStoreError,
    PromotionRefusedError,
    UnknownModelError,
)
from tests.ranking.gbdt_models import FEATURES, WINDOW, register_ranker, train_ranker

NAME = "venue_ranker"


@pytest.fixture(scope="module")
def booster() -> lightgbm.Booster:
    return train_ranker(seed=1, trees=10)


@pytest.fixture
def store(tmp_path: Path) -> FileModelStore:
    return FileModelStore.in_data_dir(tmp_path)


def test_register_writes_artefacts_and_round_trips_metadata(store, booster):
    version = store.register(
        NAME,
        booster.model_to_string(),
        features=FEATURES,
        training_window=WINDOW,
        data_hash="sha256:abc",
        metrics={"ndcg@10": np.float32(0.5), "mrr": 0.25},
        params={"num_leaves": np.int64(15), "objective": "lambdarank"},
        parent="v0000",
    )
    assert version.version == "v0001"
    assert version.path == store.root / NAME / "v0001"
    assert version.model_file.read_text() == booster.model_to_string()
    assert (version.compiled_dir / cache_name()).stat().st_size > 0
    again = store.get(NAME, "v0001")
    assert again == version
    assert again.features == FEATURES
    assert (again.training_start, again.training_end) == WINDOW
    assert again.metrics == {"ndcg@10": pytest.approx(0.5), "mrr": 0.25}
    assert again.params == {"num_leaves": 15, "objective": "lambdarank"}
    assert again.parent == "v0000"
    document = json.loads((version.path / "metadata.json").read_text())
    assert document["training_window"]["start"].startswith("2024-01-01")
    assert register_ranker(store, booster, precompile=False).version == "v0002"
    assert [v.version for v in store.list(NAME)] == ["v0001", "v0002"]


def test_register_refuses_a_feature_list_that_is_not_the_models(store, booster):
    swapped = (FEATURES[1], FEATURES[0], *FEATURES[2:])
    with pytest.raises(ModelStoreError, match="differs from the model's own"):
        store.register(
            NAME,
            booster.model_to_string(),
            features=swapped,
            training_window=WINDOW,
            data_hash="h",
            metrics={},
            params={},
        )
    with pytest.raises(ModelStoreError, match="finite"):
        store.register(
            NAME,
            booster.model_to_string(),
            features=FEATURES,
            training_window=WINDOW,
            data_hash="h",
            metrics={"ndcg@10": float("nan")},
            params={},
        )
    with pytest.raises(ModelStoreError, match="starts after it ends"):
        store.register(
            NAME,
            booster.model_to_string(),
            features=FEATURES,
            training_window=(WINDOW[1], WINDOW[0]),
            data_hash="h",
            metrics={},
            params={},
        )
    assert store.list(NAME) == ()


def test_a_model_that_does_not_compile_is_not_registered(store):
    broken = "tree\nversion=v4\nfeature_names=a b\nfeature_infos=[0:1] [0:1]\n\nTree=0\n"
    with pytest.raises(CompilationError, match="Ill formatted model file"):
        store.register(
            NAME,
            broken,
            features=("a", "b"),
            training_window=WINDOW,
            data_hash="h",
            metrics={},
            params={},
        )
    assert store.list(NAME) == ()
    assert [p.name for p in (store.root / NAME).iterdir()] == []  # no staging directory left


def test_unknown_names_and_versions(store, booster):
    assert store.list("nothing") == ()
    assert store.current(NAME) is None
    register_ranker(store, booster, precompile=False)
    with pytest.raises(UnknownModelError):
        store.get(NAME, "v0009")
    with pytest.raises(UnknownModelError):
        store.get(NAME, "latest")
    with pytest.raises(ModelStoreError, match="invalid model name"):
        store.list("../escape")


def _register_many(root: str, model_text: str, tag: str, count: int) -> list[str]:
    store = FileModelStore(Path(root))
    versions = []
    for k in range(count):
        version = store.register(
            NAME,
            model_text,
            features=FEATURES,
            training_window=WINDOW,
            data_hash=f"{tag}-{k}",
            metrics={},
            params={},
            precompile=False,
        )
        versions.append(version.version)
    return versions


def test_concurrent_registrations_from_processes_and_threads_never_clash(store, booster):
    text = booster.model_to_string()
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(3, mp_context=context) as processes,
        ThreadPoolExecutor(3) as threads,
    ):
        futures = [
            processes.submit(_register_many, str(store.root), text, f"p{k}", 6) for k in range(3)
        ]
        futures += [
            threads.submit(_register_many, str(store.root), text, f"t{k}", 6) for k in range(3)
        ]
        returned = [v for future in futures for v in future.result()]
    assert sorted(returned) == [f"v{n:04d}" for n in range(1, 37)]
    hashes = {v.data_hash for v in store.list(NAME)}
    assert len(hashes) == 36  # every registration kept its own metadata


def test_promote_checks_features_and_ndcg_margin(store, booster):
    v1 = register_ranker(store, booster, ndcg=0.50, precompile=False)
    served = (*FEATURES, "price_level")
    assert store.promote(NAME, v1.version, serving_features=served, max_ndcg_drop=0.01) == v1
    worse = register_ranker(store, booster, ndcg=0.48, precompile=False)
    with pytest.raises(PromotionRefusedError, match=r"0\.4800 is 0\.0200 below current v0001"):
        store.promote(NAME, worse.version, serving_features=served, max_ndcg_drop=0.01)
    with pytest.raises(PromotionRefusedError, match="features not provided by serving"):
        store.promote(NAME, worse.version, serving_features=FEATURES[:-2], max_ndcg_drop=1.0)
    unmeasured = register_ranker(store, booster, ndcg=None, precompile=False)
    with pytest.raises(PromotionRefusedError, match="no offline ndcg@10"):
        store.promote(NAME, unmeasured.version, serving_features=served, max_ndcg_drop=1.0)
    assert store.current(NAME) == v1  # refusals change nothing
    slightly_worse = register_ranker(store, booster, ndcg=0.495, precompile=False)
    store.promote(NAME, slightly_worse.version, serving_features=served, max_ndcg_drop=0.01)
    store.promote(NAME, slightly_worse.version, serving_features=served, max_ndcg_drop=0.01)
    assert store.promotions(NAME).history == ("v0001", "v0004")  # the repeat was a no-op


def test_rollback_returns_to_the_previous_promotion(store, booster):
    versions = [register_ranker(store, booster, precompile=False) for _ in range(3)]
    for v in versions:
        store.promote(NAME, v.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    assert store.rollback(NAME).version == "v0002"
    assert store.rollback(NAME).version == "v0001"
    assert store.current(NAME) == versions[0]
    with pytest.raises(ModelStoreError, match="no earlier promotion"):
        store.rollback(NAME)
    store.promote(NAME, "v0003", serving_features=FEATURES, max_ndcg_drop=0.0)
    assert store.promotions(NAME).history == ("v0001", "v0003")


def test_readers_always_see_a_whole_pointer_while_it_flips(store, booster):
    for _ in range(2):
        v = register_ranker(store, booster, precompile=False)
        store.promote(NAME, v.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    stop = threading.Event()
    seen: set[str | None] = set()
    errors: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                seen.add(store.promotions(NAME).current)
            except Exception as exc:  # a torn pointer file would land here
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for _ in range(50):
        store.rollback(NAME)
        store.promote(NAME, "v0002", serving_features=FEATURES, max_ndcg_drop=0.0)
    stop.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert seen == {"v0001", "v0002"}
    assert not [p for p in (store.root / NAME).iterdir() if p.name.endswith(".tmp")]
