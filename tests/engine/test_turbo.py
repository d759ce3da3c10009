"""Distilled families: detection from the model's own config, one UNet pass per step, MODEL=auto."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Config
from bot.engine.family import (
    SD1,
    SD2,
    SD_TURBO,
    SDXL,
    SDXL_LIGHTNING,
    SDXL_TURBO,
    TINY,
    TINY_TURBO,
    family_for_name,
    family_of_diffusers_folder,
)
from bot.engine.request import GenerationRequest
from bot.engine.source import auto_candidates, resolve_model_source
from bot.prompt import mapping


def _folder(
    root: Path, name: str, *, xl: bool, sample_size: int, vae_blocks: int = 4, spacing: str = "leading"
):
    folder = root / name
    for part in ("unet", "vae", "scheduler"):
        (folder / part).mkdir(parents=True)
    pipeline = "StableDiffusionXLPipeline" if xl else "StableDiffusionPipeline"
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    (folder / "unet" / "config.json").write_text(json.dumps({"sample_size": sample_size}))
    (folder / "vae" / "config.json").write_text(json.dumps({"block_out_channels": [64] * vae_blocks}))
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"timestep_spacing": spacing}))
    return folder


FOLDERS = [
    # (folder name, SDXL pipeline, unet sample_size, vae blocks, timestep spacing, family)
    ("sd15", False, 64, 4, "leading", SD1),
    ("sd21", False, 96, 4, "leading", SD2),
    ("sdxl", True, 128, 4, "leading", SDXL),
    ("small", False, 16, 4, "leading", TINY),
    ("sd-turbo", False, 64, 4, "trailing", SD_TURBO),
    ("sdxl-turbo", True, 64, 4, "trailing", SDXL_TURBO),
    ("my-xl-lightning", True, 128, 4, "leading", SDXL_LIGHTNING),
    ("small-distilled", False, 16, 4, "trailing", TINY_TURBO),
    # Native size = latents × VAE factor: 32 × 8 = 256 px and 96 × 2 = 192 px are test-model sizes.
    ("sd-32-latents-8x", False, 32, 4, "leading", TINY),
    ("sd-96-latents-2x", False, 96, 2, "leading", TINY),
]


@pytest.mark.parametrize(("name", "xl", "sample_size", "blocks", "spacing", "family"), FOLDERS)
def test_family_comes_from_the_models_own_config(tmp_path, name, xl, sample_size, blocks, spacing, family):
    """sample_size × vae_scale_factor sizes the model; a trailing scheduler or a turbo name marks it distilled."""
    folder = _folder(tmp_path, name, xl=xl, sample_size=sample_size, vae_blocks=blocks, spacing=spacing)
    assert family_of_diffusers_folder(folder) == family


@pytest.mark.parametrize(
    ("repo", "family"),
    [
        ("stabilityai/sd-turbo", SD_TURBO),
        ("stabilityai/sdxl-turbo", SDXL_TURBO),
        ("ByteDance/SDXL-Lightning", SDXL_LIGHTNING),
        ("stabilityai/stable-diffusion-xl-base-1.0", SDXL),
        ("stable-diffusion-v1-5/stable-diffusion-v1-5", SD1),
        ("stabilityai/stable-diffusion-2-1", SD2),
    ],
)
def test_hub_names(repo, family):
    """Repo ids name their family before anything is downloaded."""
    assert family_for_name(repo) == family


def test_distilled_defaults_skip_the_unconditional_pass():
    """Turbo-class families: 1–4 steps and guidance ≤ 1 at every --stylize."""
    for family in (SD_TURBO, SDXL_TURBO, SDXL_LIGHTNING, TINY_TURBO):
        assert 1 <= mapping.steps_for_quality(1, family, None) <= 4
        assert all(mapping.guidance_for_stylize(s, family) <= 1 for s in (0, 100, 1000))
        assert family.sampler == "Euler (trailing)"


@pytest.fixture(scope="module")
def turbo_engine(tiny_settings: Config):
    """The embedded tiny model built with a turbo family's scheduler config."""
    from bot.engine.loader import load_engine

    return load_engine(replace(tiny_settings, model="tiny-turbo"))


def test_tiny_turbo_makes_one_unet_call_per_step(turbo_engine):
    """Guidance ≤ 1: one UNet call per step, each with the batch alone (no unconditional half)."""
    family = turbo_engine.family
    assert family == TINY_TURBO
    request = GenerationRequest(
        prompt="a red fox",
        width=128,
        height=128,
        seed=1,
        steps=3,
        guidance_scale=mapping.guidance_for_stylize(100, family),
    )
    batches: list[int] = []
    unet = turbo_engine.txt2img_pipe.unet
    handle = unet.register_forward_pre_hook(lambda _module, args: batches.append(args[0].shape[0]))
    try:
        result = turbo_engine.txt2img(request)
    finally:
        handle.remove()
    assert batches == [4, 4, 4]
    assert len(result.images) == 4
    assert result.sampler == "Euler (trailing)"
    assert turbo_engine.txt2img_pipe.scheduler.config.timestep_spacing == "trailing"


def test_sd_family_still_runs_the_unconditional_pass(tiny_engine):
    """The non-distilled tiny model keeps classifier-free guidance: batch 2×4 per step."""
    request = GenerationRequest(prompt="a red fox", width=128, height=128, seed=1, steps=2)
    batches: list[int] = []
    unet = tiny_engine.txt2img_pipe.unet
    handle = unet.register_forward_pre_hook(lambda _module, args: batches.append(args[0].shape[0]))
    try:
        tiny_engine.txt2img(request)
    finally:
        handle.remove()
    assert batches == [8, 8]


def test_built_tiny_turbo_folder_is_detected_from_its_config(turbo_engine, tiny_settings: Config):
    """Named by path, the built tiny-turbo folder is read as tiny-turbo (scheduler config), the tiny one as tiny."""
    models = tiny_settings.models_dir
    assert resolve_model_source(str(models / "tiny-sd-turbo"), models).family == TINY_TURBO
    assert resolve_model_source(str(models / "tiny-sd"), models).family == TINY


def test_auto_prefers_a_distilled_local_model_on_cpu_and_sdxl_on_cuda(tmp_path: Path):
    """MODEL=auto: suitable local models first, then the hub model for the device, then tiny."""
    assert auto_candidates(tmp_path, "cpu") == ["stabilityai/sd-turbo", "tiny"]
    assert auto_candidates(tmp_path, "cuda") == ["stabilityai/stable-diffusion-xl-base-1.0", "tiny"]
    checkpoints = tmp_path / "checkpoints"
    xl = _folder(checkpoints, "big-xl", xl=True, sample_size=128)
    turbo = _folder(checkpoints, "fast", xl=False, sample_size=64, spacing="trailing")
    assert auto_candidates(tmp_path, "cpu")[:2] == [str(turbo), str(xl)]
    assert auto_candidates(tmp_path, "cuda")[:2] == [str(xl), str(turbo)]
    assert resolve_model_source("auto", tmp_path, "cpu").family == SD_TURBO


def test_auto_falls_back_to_the_tiny_model_with_a_loud_warning(
    tiny_settings: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """With no hub and nothing in models/, MODEL=auto loads the tiny model and says its images are noise."""
    import bot.engine.loader as loader

    real = loader._load_pipeline
    tried: list[str] = []

    def offline(source, dtype, *options):
        tried.append(source.kind)
        if source.kind == "hub":
            raise OSError("We couldn't connect to 'https://huggingface.co'")
        return real(source, dtype, *options)

    monkeypatch.setattr(loader, "_load_pipeline", offline)
    with caplog.at_level(logging.WARNING):
        engine = loader.load_engine(replace(tiny_settings, model="auto", precision="fp32"))
    assert tried == ["hub", "tiny"]
    assert engine.family == TINY
    assert any("ITS IMAGES ARE NOISE" in record.getMessage() for record in caplog.records)
