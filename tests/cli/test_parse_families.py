"""`python -m bot parse` with a SD 3.5 or FLUX hub id: the family's size, steps and guidance, --hd,
--no on FLUX, MODEL_ALIASES for `--v 8` / `--v 7`; all without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHNELL = "black-forest-labs/FLUX.1-schnell"
SD35 = "stabilityai/stable-diffusion-3.5-large"


@pytest.fixture
def parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `parse PROMPT` with MODEL (and MODEL_ALIASES) set; return the jobs."""

    def run(prompt: str, model: str, aliases: str = "") -> list[dict]:
        for name in ("STEPS", "MODELS_DIR", "DRAFT_LORA"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("MODEL", model)
        monkeypatch.setenv("MODEL_ALIASES", aliases)
        monkeypatch.setenv("MODELS_DIR", str(tmp_path / "models"))
        assert main(["--env-file", str(tmp_path / "absent.env"), "parse", prompt]) == 0
        return json.loads(capsys.readouterr().out)["jobs"]

    return run


@pytest.mark.parametrize(
    ("model", "family", "size", "steps", "guidance"),
    [
        (SCHNELL, "flux-schnell", (1024, 1024), 4, 0.0),
        ("black-forest-labs/FLUX.1-dev", "flux-dev", (1024, 1024), 28, 3.5),
        (SD35, "sd3", (1024, 1024), 28, 4.5),
        ("stabilityai/stable-diffusion-3.5-large-turbo", "sd3-turbo", (1024, 1024), 4, 0.0),
    ],
)
def test_a_hub_id_shows_its_family_recipe(parse, model, family, size, steps, guidance) -> None:
    """SD 3.5 renders 1024 px; FLUX schnell at most 4 steps without CFG; dev distilled guidance 3.5."""
    (job,) = parse("a lighthouse", model)
    assert (job["family"], (job["width"], job["height"]), job["steps"], job["guidance_scale"]) == (
        family,
        size,
        steps,
        guidance,
    )


def test_flux_schnell_never_runs_more_than_four_steps(parse) -> None:
    """--q 2 doubles the steps, except where the family is capped (FLUX schnell: 4)."""
    (job,) = parse("a lighthouse --q 2 --s 0", SCHNELL)
    assert job["steps"] == 4 and job["guidance_scale"] == 0.0


def test_hd_is_native_two_megapixels_on_flux_and_a_high_res_pass_elsewhere(parse) -> None:
    """--hd: FLUX at ~2 MP in one pass; SD 3.5 native first, then twice the area; --sd is native."""
    (flux,) = parse("a lighthouse --ar 3:2 --hd", SCHNELL)
    (sd3,) = parse("a lighthouse --ar 3:2 --hd", SD35)
    (sd,) = parse("a lighthouse --ar 3:2 --sd", SD35)
    assert (flux["width"], flux["height"], flux["hires_from"]) == (1776, 1184, None)
    assert flux["width"] % 16 == 0 and flux["height"] % 16 == 0
    assert sd3["hires_from"] == [sd["width"], sd["height"]] and sd["definition"] == "sd"
    assert 1.8 < sd3["width"] * sd3["height"] / (sd["width"] * sd["height"]) < 2.2


def test_no_on_flux_is_kept_and_the_reply_says_it_is_ignored(parse) -> None:
    """FLUX has no negative prompt: the note says --no is ignored; SD 3.5 uses it silently."""
    (flux,) = parse("a lighthouse --no fog", SCHNELL)
    (sd3,) = parse("a lighthouse --no fog", SD35)
    assert "--no is ignored" in flux["draft_note"]
    assert sd3["negative_prompt"] == "fog" and sd3["draft_note"] == ""


def test_version_aliases_pick_the_family_of_their_model(parse) -> None:
    """MODEL_ALIASES maps `--v 8` / `--v 7` to configured models; sizes and steps follow each."""
    aliases = f"8={SCHNELL},7={SD35}"
    (v8,) = parse("a lighthouse --v 8", "stabilityai/stable-diffusion-xl-base-1.0", aliases)
    (v7,) = parse("a lighthouse --v 7", "stabilityai/stable-diffusion-xl-base-1.0", aliases)
    assert (v8["model"], v8["family"], v8["steps"]) == (SCHNELL, "flux-schnell", 4)
    assert (v7["model"], v7["family"], v7["steps"]) == (SD35, "sd3", 28)


def test_parse_of_a_new_family_imports_no_torch(tmp_path: Path) -> None:
    """The dry run for FLUX stays light: no torch, no diffusers."""
    code = (
        "import sys; from bot.cli import main; "
        f"main(['--env-file', {str(tmp_path / 'none.env')!r}, 'parse', 'a cat --hd']); "
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    )
    env = {"MODEL": SCHNELL, "MODELS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobs"][0]["family"] == "flux-schnell"
