"""The NSFW checker model (a real tiny StableDiffusionSafetyChecker, offline) and how a worker
loads it from NSFW_FILTER / NSFW_MODEL."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.config import Config
from bot.engine.safety_checker import SafetyCheckerModel, checker_source, load_safety_checker
from bot.errors import ConfigError
from tests.tiny_checker import build_tiny_checker


@pytest.mark.parametrize(("threshold", "flagged"), [(-1.0, [True, True]), (1.0, [False, False])])
def test_the_safety_checker_gives_one_verdict_per_image(tmp_path, threshold, flagged):
    """NSFW_MODEL as a folder: nothing loads until the first check, which returns a verdict per image."""
    build_tiny_checker(tmp_path / "checker", threshold)
    model = SafetyCheckerModel(str(tmp_path / "checker"), device="cpu")
    assert not model.loaded
    images = [Image.new("RGB", (64, 48), (200, 10, 10)), Image.new("RGB", (48, 64), (10, 10, 200))]
    assert model.check(images) == flagged


def test_a_missing_checker_is_a_config_error(tmp_path):
    """A NSFW_MODEL folder without a checker fails to load with a ConfigError naming it."""
    model = SafetyCheckerModel(str(tmp_path / "nothing-here"), device="cpu")
    with pytest.raises(ConfigError, match="NSFW_MODEL="):
        model.check([Image.new("RGB", (32, 32))])


def test_a_worker_loads_the_checker_at_once_only_when_the_filter_is_on(tmp_path):
    """NSFW_FILTER=off: no checker; on: the checker, already loaded (the worker loads it once, at start)."""
    folder = build_tiny_checker(tmp_path / "checker", 1.0)
    off = Config.from_env({"NSFW_FILTER": "off", "NSFW_MODEL": str(folder), "DEVICE": "cpu"})
    assert load_safety_checker(off) is None
    on = Config.from_env({"NSFW_FILTER": "block", "NSFW_MODEL": str(folder), "DEVICE": "cpu"})
    checker = load_safety_checker(on)
    assert checker is not None and checker.loaded


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NSFW_FILTER": "block", "NSFW_CHECKER": "safety-checker"}, "NSFW_FILTER=block needs NSFW_MODEL"),
        ({"NSFW_FILTER": "spoiler", "NSFW_MODEL": "/no/such/checker"}, "NSFW_MODEL='/no/such/checker'"),
    ],
)
def test_a_worker_without_a_usable_checker_does_not_start(env, message):
    """A filter without a model, or a model that does not load, is a one-line ConfigError."""
    with pytest.raises(ConfigError, match=message):
        load_safety_checker(Config.from_env({**env, "DEVICE": "cpu"}))


def test_checker_source_names_the_model_only_when_filtering():
    """checker_source: None with the filter off, NSFW_MODEL with it on."""
    assert checker_source(Config.from_env({"NSFW_MODEL": "some/model"})) is None
    assert checker_source(Config.from_env({"NSFW_FILTER": "spoiler", "NSFW_MODEL": "a/b"})) == "a/b"
