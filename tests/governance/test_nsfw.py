"""The NSFW screen's settings and the real safety-checker loading path (a tiny model, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bot.config import Config
from bot.engine.safety_checker import SafetyCheckerModel
from bot.errors import ConfigError
from bot.governance.nsfw import PLACEHOLDER_GREY, ImageScreen, NsfwFilter, hide_flagged


@pytest.mark.parametrize(
    ("env", "mode", "checks"),
    [
        ({}, NsfwFilter.OFF, False),
        ({"NSFW_FILTER": "off", "NSFW_MODEL": "some/model"}, NsfwFilter.OFF, False),
        ({"NSFW_FILTER": "Spoiler", "NSFW_MODEL": "some/model"}, NsfwFilter.SPOILER, True),
        ({"NSFW_FILTER": "block", "NSFW_MODEL": "/models/checker"}, NsfwFilter.BLOCK, True),
    ],
)
def test_screen_from_settings(env, mode, checks):
    """NSFW_FILTER picks the mode; a checker exists only when the filter is on (nothing is loaded yet)."""
    screen = ImageScreen.from_settings(Config.from_env(env))
    assert screen.mode is mode
    assert screen.active is checks
    assert isinstance(screen.checker, SafetyCheckerModel) is checks


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NSFW_FILTER": "blur"}, "NSFW_FILTER='blur' is not valid: expected one of off, spoiler, block"),
        ({"NSFW_FILTER": "block"}, "NSFW_FILTER=block needs NSFW_MODEL"),
    ],
)
def test_bad_nsfw_settings_are_one_line_config_errors(env, message):
    """A filter without a model, or an unknown mode, stops start-up with a clear line."""
    with pytest.raises(ConfigError, match=message):
        ImageScreen.from_settings(Config.from_env(env))


def test_hide_flagged_blanks_only_flagged_images():
    """Flagged images become grey tiles of the same size; the others are the same objects."""
    images = [Image.new("RGB", (8, 16), (255, 0, 0)), Image.new("RGB", (8, 16), (0, 255, 0))]
    hidden = hide_flagged(images, [False, True])
    assert hidden[0] is images[0]
    assert hidden[1].size == (8, 16)
    assert hidden[1].getpixel((4, 4)) == PLACEHOLDER_GREY


def build_tiny_checker(folder: Path, threshold: float) -> None:
    """A StableDiffusionSafetyChecker with a tiny CLIP and its PIL image processor, saved to `folder`.

    Its concept thresholds are `threshold`: -1 flags everything, +1 nothing (cosine ≤ 1).
    """
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 16,
        },
        projection_dim=8,
    )
    checker = StableDiffusionSafetyChecker(config)
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(1.0)
    checker.save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )


@pytest.mark.parametrize(("threshold", "flagged"), [(-1.0, [True, True]), (1.0, [False, False])])
def test_the_safety_checker_loads_lazily_from_a_folder_and_gives_one_verdict_per_image(
    tmp_path, threshold, flagged
):
    """NSFW_MODEL as a folder: nothing loads until the first check, which returns a verdict per image."""
    build_tiny_checker(tmp_path / "checker", threshold)
    model = SafetyCheckerModel(str(tmp_path / "checker"), device="cpu")
    assert model._loaded is None
    images = [Image.new("RGB", (64, 48), (200, 10, 10)), Image.new("RGB", (48, 64), (10, 10, 200))]
    assert model.check(images) == flagged


def test_a_missing_checker_is_a_config_error(tmp_path):
    """A NSFW_MODEL folder without a checker fails the first check with a ConfigError naming it."""
    model = SafetyCheckerModel(str(tmp_path / "nothing-here"), device="cpu")
    with pytest.raises(ConfigError, match="NSFW_MODEL="):
        model.check([Image.new("RGB", (32, 32))])
