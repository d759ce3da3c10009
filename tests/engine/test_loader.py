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
