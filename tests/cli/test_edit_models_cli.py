"""`python -m bot edit retexture|instruct JOB N --prompt TEXT` on the tiny model, as an operator runs it."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from tests.cli.test_imagine_cli import run_cli_here as run_cli

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EDITOR = {"CONTROLNET_MODEL": "tiny", "DEPTH_MODEL": "tiny"}


def test_retexture_and_edit_from_the_command_line(tmp_path, tiny_model_dir):
    """imagine → Retexture image 2 → Edit image 1 of that: four images each, recipes name the
    operation; banned words in either prompt are refused with Midjourney's error and no job."""
    made = run_cli(
        tmp_path, tiny_model_dir, "imagine", "a lighthouse --seed 3", "-o", str(tmp_path / "g.png")
    )
    assert made.returncode == 0, made.stderr
    job = JOB_ID.findall(made.stdout)[-1]

    retextured = run_cli(
        tmp_path, tiny_model_dir, "edit", "retexture", job, "2", "--prompt", "a lighthouse of glass --seed 5",
        "-o", str(tmp_path / "r.png"), extra_env=EDITOR,
    )  # fmt: skip
    assert retextured.returncode == 0, retextured.stderr
    retexture_job = JOB_ID.findall(retextured.stdout)[-1]
    first = tmp_path / "data" / "images" / retexture_job / "0.png"
    fields = parse_a1111_parameters(read_png_parameters(first))
    assert fields["prompt"] == "a lighthouse of glass"
    assert fields["Retexture"] == f"image 2 of {job}"
    assert len(list((tmp_path / "data" / "images" / retexture_job).glob("[0-9].png"))) == 4

    edited = run_cli(
        tmp_path, tiny_model_dir, "edit", "instruct", retexture_job, "1", "--prompt", "red roof --no fog",
        "-o", str(tmp_path / "e.png"), extra_env=EDITOR,
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    edit_job = JOB_ID.findall(edited.stdout)[-1]
    result = tmp_path / "data" / "images" / edit_job / "0.png"
    assert parse_a1111_parameters(read_png_parameters(result))["Edit"] == "red roof (LEDITS++)"
    assert not np.array_equal(np.asarray(Image.open(result)), np.asarray(Image.open(first)))

    for operation in ("retexture", "instruct"):
        refused = run_cli(
            tmp_path, tiny_model_dir, "edit", operation, job, "1", "--prompt", "a nude statue",
            "-o", str(tmp_path / "x.png"), extra_env=EDITOR,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stderr
        assert "Banned prompt detected" in refused.stderr
    assert not (tmp_path / "x.png").exists()


def test_retexture_without_a_controlnet_is_refused_before_queueing(tmp_path, tiny_model_dir):
    """CONTROLNET_MODEL empty: one clear line naming the setting, exit 2, no job made."""
    made = run_cli(tmp_path, tiny_model_dir, "imagine", "a fox --seed 1", "-o", str(tmp_path / "g.png"))
    job = JOB_ID.findall(made.stdout)[-1]
    refused = run_cli(
        tmp_path,
        tiny_model_dir,
        "edit",
        "retexture",
        job,
        "1",
        "--prompt",
        "a paper fox",
        "-o",
        str(tmp_path / "r.png"),
    )
    assert refused.returncode == 2, refused.stderr
    assert "CONTROLNET_MODEL" in refused.stderr
    assert sorted(p.name for p in (tmp_path / "data" / "images").iterdir()) == [job]


def test_edit_with_an_instruct_model_and_a_missing_one(tmp_path, tiny_model_dir):
    """INSTRUCT_MODEL=tiny: the edit runs the InstructPix2Pix pipeline and the recipe says so;
    INSTRUCT_MODEL naming a folder that does not exist: one clear line, exit 2, no job made."""
    made = run_cli(tmp_path, tiny_model_dir, "imagine", "a barn --seed 4", "-o", str(tmp_path / "g.png"))
    assert made.returncode == 0, made.stderr
    job = JOB_ID.findall(made.stdout)[-1]
    edited = run_cli(
        tmp_path, tiny_model_dir, "edit", "instruct", job, "2", "--prompt", "make the barn red --seed 8",
        "-o", str(tmp_path / "e.png"), extra_env={"INSTRUCT_MODEL": "tiny"},
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    edit_job = JOB_ID.findall(edited.stdout)[-1]
    result = tmp_path / "data" / "images" / edit_job / "0.png"
    fields = parse_a1111_parameters(read_png_parameters(result))
    assert fields["Edit"] == "make the barn red (InstructPix2Pix)"
    source = tmp_path / "data" / "images" / job / "1.png"
    assert Image.open(result).size == Image.open(source).size
    assert not np.array_equal(np.asarray(Image.open(result)), np.asarray(Image.open(source)))

    refused = run_cli(
        tmp_path, tiny_model_dir, "edit", "instruct", job, "1", "--prompt", "make it blue",
        "-o", str(tmp_path / "x.png"), extra_env={"INSTRUCT_MODEL": str(tmp_path / "no-such-model")},
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "INSTRUCT_MODEL" in refused.stderr and "does not exist" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert sorted(p.name for p in (tmp_path / "data" / "images").iterdir()) == sorted([job, edit_job])
