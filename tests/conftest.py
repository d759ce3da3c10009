"""Shared fixtures: the embedded tiny model, built once per machine and reused by every test."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Config


@pytest.fixture(scope="session")
def tiny_model_dir(request: pytest.FixtureRequest) -> Path:
    """A built tiny model folder (`<models dir>/tiny-sd`), cached in pytest's cache directory."""
    from bot.engine.tiny import build_tiny_model

    models_dir = Path(request.config.cache.mkdir("models"))
    return build_tiny_model(models_dir / "tiny-sd")


@pytest.fixture(scope="session")
def tiny_settings(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Settings for the tiny model on CPU with a throwaway DATA_DIR."""
    data_dir = tmp_path_factory.mktemp("data")
    return Config.from_env(
        {
            "MODEL": "tiny",
            "MODELS_DIR": str(tiny_model_dir.parent),
            "DATA_DIR": str(data_dir),
            "DEVICE": "cpu",
        }
    )


@pytest.fixture(scope="session")
def tiny_engine(tiny_settings: Config):
    """One loaded tiny Engine shared by the session (tests must not change its state)."""
    from bot.engine.loader import load_engine

    return load_engine(tiny_settings)


@pytest.fixture(scope="session")
def tiny_flow_engines(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """`tiny_flow_engines("tiny-sd3")` / `("tiny-flux")`: that family's embedded tiny engine on CPU,
    loaded on first use and shared by the session (built beside the tiny model, in pytest's cache)."""
    from bot.engine.loader import load_engine

    loaded: dict[str, object] = {}

    def engine(model: str):
        if model not in loaded:
            settings = Config.from_env(
                {
                    "MODEL": model,
                    "MODELS_DIR": str(Path(request.config.cache.mkdir("models"))),
                    "DATA_DIR": str(tmp_path_factory.mktemp("data")),
                    "DEVICE": "cpu",
                }
            )
            loaded[model] = load_engine(settings)
        return loaded[model]

    return engine


@pytest.fixture(autouse=True)
def _quiet_third_party_logs() -> None:
    logging.getLogger("PIL").setLevel(logging.WARNING)
