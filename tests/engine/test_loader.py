"""MODEL resolution and load failures: one clear line for the operator, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine.family import SD1, SD2, SDXL, TINY
from bot.engine.source import resolve_model_source
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def safetensors_header(path: Path, keys: list[str]) -> Path:
    """A minimal valid safetensors file whose header lists `keys` (empty tensors)."""
    header = {key: {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for key in keys}
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw)
    return path


@pytest.mark.parametrize(
    ("keys", "family"),
    [
        (["model.diffusion_model.input_blocks.0.0.weight"], SD1),
        (["cond_stage_model.model.token_embedding.weight"], SD2),
        (["conditioner.embedders.1.model.token_embedding.weight"], SDXL),
    ],
)
def test_checkpoint_family_is_read_from_its_header(tmp_path, keys, family):
    """A .safetensors file in models/checkpoints/ is found by name and its family detected."""
    safetensors_header(tmp_path / "checkpoints" / "mine.safetensors", keys)
    source = resolve_model_source("mine.safetensors", tmp_path)
    assert (source.kind, source.family, source.name) == ("checkpoint", family, "mine")


def test_tiny_and_hub_names(tmp_path):
    """`tiny` is the embedded model; owner/name is a Hugging Face repo id."""
    assert resolve_model_source("tiny", tmp_path).family == TINY
    hub = resolve_model_source("stabilityai/stable-diffusion-xl-base-1.0", tmp_path)
    assert (hub.kind, hub.family) == ("hub", SDXL)


def test_diffusers_folder_is_loaded_as_a_folder(tiny_model_dir):
    """A folder with model_index.json is a diffusers model; the tiny one is detected as tiny."""
    source = resolve_model_source(str(tiny_model_dir), Path("/nonexistent"))
    assert (source.kind, source.family) == ("folder", TINY)


@pytest.mark.parametrize(
    ("model", "setup", "message"),
    [
        ("./missing-model", None, "not found"),
        ("missing.safetensors", None, "not found"),
        ("broken.safetensors", "corrupt", "not a valid .safetensors file"),
        ("old.ckpt", "ckpt", "only .safetensors"),
        ("emptydir", "emptydir", "without model_index.json"),
        ("not a repo id", None, "not a Hugging Face repo id"),
        ("", None, "MODEL is empty"),
    ],
)
def test_bad_models_fail_with_one_line(tmp_path, model, setup, message):
    """Missing, corrupt or unsupported models raise ConfigError naming MODEL."""
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    if setup == "corrupt":
        (checkpoints / model).write_bytes(b"\xff" * 64)
    elif setup == "ckpt":
        (checkpoints / model).write_bytes(b"PK")
    elif setup == "emptydir":
        (tmp_path / model).mkdir()
    with pytest.raises(ConfigError, match=message) as caught:
        resolve_model_source(model, tmp_path)
    assert "\n" not in str(caught.value)
    assert "MODEL" in str(caught.value)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("broken.safetensors", "not a valid .safetensors file"),
        ("nobody-here/no-such-model", "could not load it from the Hugging Face hub"),
    ],
)
def test_cli_reports_a_bad_model_in_one_line(tmp_path, model, message):
    """`python -m bot imagine` with a bad MODEL exits 2 with a single error line (offline)."""
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "broken.safetensors").write_bytes(b"\x00" * 7)
    env = {
        "PATH": "/usr/bin:/bin",
        "MODEL": model,
        "MODELS_DIR": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "none"), "imagine", "a cat"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.stderr


def test_inpaint_model_brings_its_own_unet_and_borrows_the_rest(tiny_settings, tiny_model_dir, tmp_path):
    """INPAINT_MODEL: outpaint runs on the 9-channel checkpoint's UNet; text encoder and VAE are
    the base model's objects (one copy); pixels in the box stay the original's."""
    import shutil
    from dataclasses import replace

    import numpy as np
    from diffusers import UNet2DConditionModel
    from PIL import Image

    from bot.engine.canvas import feather_radius, zoom_layout
    from bot.engine.family import TINY
    from bot.engine.interface import GenerationInputs, Operation
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest

    folder = tmp_path / "tiny-inpaint"
    shutil.copytree(tiny_model_dir, folder)
    base_unet = UNet2DConditionModel.from_pretrained(tiny_model_dir / "unet")
    config = {**base_unet.config, "in_channels": 9}
    UNet2DConditionModel.from_config(config).save_pretrained(folder / "unet")
    engine = load_engine(replace(tiny_settings, inpaint_model=str(folder)))
    assert engine.masked_pipe.unet.config.in_channels == 9
    assert engine.masked_pipe.text_encoder is engine.txt2img_pipe.text_encoder
    assert engine.masked_pipe.vae is engine.txt2img_pipe.vae

    source = engine.txt2img(GenerationRequest("a fox", 64, 64, seed=1, steps=2, batch_size=1)).images[0]
    layout = zoom_layout(source.size, 1.5, TINY)
    asked = GenerationRequest(
        "a fox", layout.width, layout.height, seed=2, steps=2, batch_size=1, strength=1.0
    )
    image = engine.generate(
        Operation.OUTPAINT, asked, GenerationInputs(image=source, placement=layout.box)
    ).images[0]
    left, top, right, bottom = layout.box
    seam = feather_radius(layout.size)
    scaled = np.asarray(source.resize(layout.box_size, Image.Resampling.LANCZOS))
    inner = np.asarray(image)[top + seam : bottom - seam, left + seam : right - seam]
    assert np.array_equal(inner, scaled[seam:-seam, seam:-seam])


def test_inpaint_model_of_another_family_is_a_config_error(tiny_settings, tmp_path):
    """INPAINT_MODEL of a different family than MODEL: one clear ConfigError line."""
    from dataclasses import replace

    from bot.engine.loader import load_inpaint_pipeline
    from bot.errors import ConfigError

    settings = replace(tiny_settings, inpaint_model="runwayml/stable-diffusion-inpainting")
    with pytest.raises(ConfigError, match="INPAINT_MODEL"):
        load_inpaint_pipeline(settings, "tiny", None, None)
