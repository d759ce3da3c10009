"""LoRAs per job: a LoRA built in code for the tiny UNet changes the images of the jobs that carry
it, leaves every other job bit-identical and the UNet's weights untouched; draft samplers too."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.config import Config
from bot.engine.family import SDXL, TINY
from bot.engine.lora_files import LoraProblem, check_lora, parse_loras
from bot.engine.request import GenerationRequest
from bot.errors import JobFailed


def build_tiny_lora(tiny_model_dir: Path, folder: Path, name: str = "sparkle", seed: int = 3) -> Path:
    """A rank-4 LoRA on every attention projection of the tiny UNet, random (non-zero) A and B."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(tiny_model_dir / "unet")
    unet.add_adapter(
        LoraConfig(
            r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=get_peft_model_state_dict(unet), weight_name=f"{name}.safetensors"
    )
    return folder / f"{name}.safetensors"


def unet_hash(engine) -> str:
    digest = hashlib.sha256()
    for key, tensor in sorted(engine.txt2img_pipe.unet.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def pixels(result) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.int16) for image in result.images])


@pytest.fixture(scope="module")
def lora_engine(tiny_settings: Config, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A fresh tiny engine (fp32) whose models/loras/ holds `sparkle`, a LoRA built in code."""
    from bot.engine.loader import load_engine

    models = tmp_path_factory.mktemp("models")
    (models / "tiny-sd").symlink_to(tiny_model_dir)
    build_tiny_lora(tiny_model_dir, models / "loras")
    return load_engine(replace(tiny_settings, models_dir=models, precision="fp32"))


REQUEST = GenerationRequest(prompt="a red fox", width=128, height=128, seed=9, steps=3)


def test_a_lora_changes_the_job_that_carries_it_and_nothing_else(lora_engine):
    """With the LoRA the images change; the next job without it is bit-identical; the UNet hash is unchanged."""
    before_hash = unet_hash(lora_engine)
    plain = pixels(lora_engine.txt2img(REQUEST))
    styled = pixels(lora_engine.txt2img(replace(REQUEST, loras=(("sparkle", 0.8),))))
    after = pixels(lora_engine.txt2img(REQUEST))
    assert np.abs(plain - styled).mean() > 1
    assert np.array_equal(plain, after)
    assert unet_hash(lora_engine) == before_hash
    assert not any("lora" in name for name, _ in lora_engine.txt2img_pipe.unet.named_modules())


def test_a_lora_job_matches_loading_it_by_hand(lora_engine):
    """Same pixels as diffusers + peft by hand: load_lora_weights, set_adapters(weight), generate."""
    styled = pixels(lora_engine.txt2img(replace(REQUEST, loras=(("sparkle", 0.5),))))
    pipe = lora_engine.txt2img_pipe
    pipe.load_lora_weights(
        str(lora_engine.loras_dir), weight_name="sparkle.safetensors", adapter_name="by-hand"
    )
    pipe.set_adapters(["by-hand"], adapter_weights=[0.5])
    try:
        by_hand = pixels(lora_engine.txt2img(REQUEST))
    finally:
        pipe.unload_lora_weights()
    assert np.array_equal(styled, by_hand)


def test_a_missing_lora_fails_the_job_and_leaves_the_model_clean(lora_engine):
    """A LoRA removed from models/loras/ fails its job with a clear message; the model is unchanged."""
    before_hash = unet_hash(lora_engine)
    with pytest.raises(JobFailed, match="`gone`"):
        lora_engine.txt2img(replace(REQUEST, loras=(("sparkle", 1.0), ("gone", 1.0))))
    assert unet_hash(lora_engine) == before_hash
    assert not any("lora" in name for name, _ in lora_engine.txt2img_pipe.unet.named_modules())


def test_a_draft_sampler_runs_for_its_job_only(lora_engine):
    """sampler="lcm" (an LCM-LoRA draft) runs LCM for that job; the family's scheduler is back after."""
    scheduler = lora_engine.txt2img_pipe.scheduler
    result = lora_engine.txt2img(
        replace(REQUEST, sampler="lcm", guidance_scale=1.0, loras=(("sparkle", 1.0),))
    )
    assert result.sampler == "LCM"
    assert lora_engine.txt2img_pipe.scheduler is scheduler
    assert lora_engine.txt2img(REQUEST).sampler == "DPM++ 2M Karras"


def test_lora_files_are_checked_against_the_family(lora_engine):
    """The header says which models a LoRA fits: the tiny one yes, SDXL no; unknown names list what exists."""
    loras_dir = lora_engine.loras_dir
    assert check_lora("sparkle", loras_dir, TINY).name == "sparkle.safetensors"
    with pytest.raises(LoraProblem, match="another kind of model"):
        check_lora("sparkle", loras_dir, SDXL)
    with pytest.raises(LoraProblem, match=r"no LoRA `grain`.*`sparkle`"):
        check_lora("grain", loras_dir, TINY)
    not_a_lora = loras_dir / "notes.safetensors"
    not_a_lora.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(LoraProblem, match="not a LoRA"):
        check_lora("notes", loras_dir, TINY)


@pytest.mark.parametrize(
    ("text", "loras"),
    [
        ("sparkle:0.8, ink:0.5", (("sparkle", 0.8), ("ink", 0.5))),
        ("ink", (("ink", 1.0),)),
        ("film-grain.safetensors:-.5", (("film-grain", -0.5),)),
        ("", ()),
    ],
)
def test_lora_lists_read_like_admins_write_them(text, loras):
    """`name:weight` pairs, comma-separated; no weight means 1."""
    assert parse_loras(text) == loras


@pytest.mark.parametrize(
    ("text", "message"),
    [("a:b", "must be a number"), ("a:3", "from -2 to 2"), ("a, a", "twice"), ("../x", "not a LoRA name")],
)
def test_bad_lora_lists_are_explained(text, message):
    """Weights out of range, repeated names and paths are refused with a reason."""
    with pytest.raises(LoraProblem, match=message):
        parse_loras(text)
