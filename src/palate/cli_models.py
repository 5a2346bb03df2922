"""``palate models``: list, show, promote and roll back the registered ranking models.

Serving follows the promoted version within a second (see :mod:`palate.ranking.hot_swap`), so
``promote`` and ``rollback`` are the deploy and undo buttons of a ranking model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from palate.ranking.model_store import (
    DEFAULT_MAX_NDCG_DROP,
    FileModelStore,
    ModelStoreError,
    ModelVersion,
)
from palate.settings import load_settings

models_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="List, show, promote and roll back the registered ranking models.",
)

DEFAULT_NAME = "venue_ranker"
ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML settings file (see palate.example.toml)")
]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="Data directory (default: [data].dir)")
]
NameOption = Annotated[str, typer.Option("--name", help="Model name in the registry")]


def serving_features() -> tuple[str, ...]:
    """The feature columns the Discovery pipeline hydrates, which a promoted model may use."""
    from palate.premises.discovery import DISCOVERY_FEATURES

    return DISCOVERY_FEATURES


def _store(config: Path | None, data: Path | None) -> FileModelStore:
    settings = load_settings(config)
    return FileModelStore.in_data_dir(data if data is not None else settings.data.dir)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


def describe(version: ModelVersion, current: str | None) -> str:
    """One line per version: marker, version, date, NDCG@10, feature count, window, parent."""
    ndcg = version.metrics.get("ndcg@10")
    return "  ".join(
        [
            "*" if version.version == current else " ",
            version.version,
            version.created_at.strftime("%Y-%m-%d %H:%M"),
            f"ndcg@10={'-' if ndcg is None else f'{ndcg:.4f}'}",
            f"features={len(version.features)}",
            f"window={version.training_start:%Y-%m-%d}..{version.training_end:%Y-%m-%d}",
            f"parent={version.parent or '-'}",
        ]
    )


@models_app.command("list")
def list_versions(
    config: ConfigOption = None, data: DataOption = None, name: NameOption = DEFAULT_NAME
) -> None:
    """Every version of the model, oldest first; ``*`` marks the promoted one."""
    store = _store(config, data)
    try:
        versions = store.list(name)
        current = store.promotions(name).current
    except ModelStoreError as exc:
        raise _fail(str(exc)) from exc
    if not versions:
        typer.echo(f"no versions of {name} in {store.root}")
        return
    for version in versions:
        typer.echo(describe(version, current))


@models_app.command()
def show(
    version: Annotated[
        str | None, typer.Argument(help="Version (default: the current one)")
    ] = None,
    config: ConfigOption = None,
    data: DataOption = None,
    name: NameOption = DEFAULT_NAME,
) -> None:
    """A version's full metadata as JSON."""
    store = _store(config, data)
    try:
        found = store.current(name) if version is None else store.get(name, version)
    except ModelStoreError as exc:
        raise _fail(str(exc)) from exc
    if found is None:
        raise _fail(f"no promoted version of {name}")
    document = {**found.to_json(), "path": str(found.path)}
    document["current"] = store.promotions(name).current == found.version
    typer.echo(json.dumps(document, indent=2, sort_keys=True))


@models_app.command()
def promote(
    version: Annotated[str, typer.Argument(help="Version to serve, e.g. v0003")],
    config: ConfigOption = None,
    data: DataOption = None,
    name: NameOption = DEFAULT_NAME,
    max_ndcg_drop: Annotated[
        float, typer.Option(help="Largest allowed NDCG@10 drop vs the current version")
    ] = DEFAULT_MAX_NDCG_DROP,
    features: Annotated[
        str | None,
        typer.Option("--serving-features", help="Comma-separated features serving provides"),
    ] = None,
) -> None:
    """Serve ``version`` (refused if serving lacks its features or its NDCG@10 is worse)."""
    store = _store(config, data)
    provided = serving_features() if features is None else tuple(features.split(","))
    try:
        promoted = store.promote(
            name, version, serving_features=provided, max_ndcg_drop=max_ndcg_drop
        )
    except ModelStoreError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"promoted {promoted.label}")


@models_app.command()
def rollback(
    config: ConfigOption = None, data: DataOption = None, name: NameOption = DEFAULT_NAME
) -> None:
    """Serve the version promoted before the current one again."""
    store = _store(config, data)
    try:
        restored = store.rollback(name)
    except ModelStoreError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"rolled back to {restored.label}")
