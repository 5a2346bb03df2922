"""The example config documents every setting, and the settings model behaves as documented."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from palate.features.feature_set import FeatureSet
from palate.settings import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "palate.example.toml"


def _flatten_model(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out |= _flatten_model(annotation, f"{prefix}{name}.")
        else:
            out[f"{prefix}{name}"] = field.default
    return out


def _flatten_toml(table: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out |= _flatten_toml(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_example_lists_every_setting_with_its_default() -> None:
    example = tomllib.loads(EXAMPLE.read_text())
    example.pop("features")  # checked against the features package below
    documented = _flatten_toml(example)
    defaults = _flatten_model(Settings)
    defaults.pop("features")
    assert set(documented) == set(defaults)
    for key, default in defaults.items():
        assert str(documented[key]) == str(default), key


def test_every_example_line_with_a_key_has_a_comment() -> None:
    for line in EXAMPLE.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line, f"undocumented setting: {line}"


def test_example_round_trips_through_settings() -> None:
    # [features] tables are checked against the features package in their own test
    assert load_settings(EXAMPLE).model_copy(update={"features": {}}) == Settings()


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "palate.toml"
    config.write_text('[server]\nport = 9001\nhost = "127.0.0.2"\n')
    monkeypatch.setenv("PALATE_SERVER__PORT", "9100")
    settings = load_settings(config)
    assert settings.server.port == 9100
    assert settings.server.host == "127.0.0.2"


def test_production_refuses_default_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PALATE_ENV", "production")
    with pytest.raises(ValidationError, match="admin_token"):
        load_settings()
    monkeypatch.setenv("PALATE_ADMIN_TOKEN", "a-real-secret")
    assert load_settings().env == "production"


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    config = tmp_path / "palate.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(ValidationError, match="prot"):
        load_settings(config)


def test_example_documents_every_feature_option_at_its_default() -> None:
    documented = tomllib.loads(EXAMPLE.read_text())["features"]
    defaults = FeatureSet.from_config(None)
    assert [f.name for f in defaults.features] == list(documented)
    for feature in defaults.features:
        options = {f.name for f in dataclasses.fields(feature.config)} - {"tags"}
        assert set(documented[feature.name]) == options | {"enabled"}, feature.name
    configured = FeatureSet.from_config(documented)
    assert [f.config for f in configured.features] == [f.config for f in defaults.features]


def test_feature_options_reach_the_feature_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PALATE_FEATURES__CUSTOMER_VENUE__HALF_LIFE_HOURS", "48")
    settings = load_settings(EXAMPLE)
    chosen = FeatureSet.from_config(settings.features).get("customer_venue")
    assert chosen is not None
    assert chosen.config.half_life_hours == 48.0
