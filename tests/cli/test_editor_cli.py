"""The editor from the command line on the tiny models: upload a picture, remove its background,
Smart Select an object and repaint only it (Vary (Region) with the selection as the mask)."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageDraw

from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from tests.cli.test_imagine_cli import run_cli_here as run_cli

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EDITOR = {"SEGMENT_MODEL": "tiny"}


def photo(path):
    picture = Image.new("RGB", (150, 100), (30, 90, 200))
    ImageDraw.Draw(picture).ellipse((40, 20, 110, 90), fill=(240, 200, 20))
    picture.save(path, format="JPEG")
    return path


def test_upload_remove_background_smart_select_and_region_from_the_command_line(tmp_path, tiny_model_dir):
    """upload (150x100, stored as 144x96) → remove-background (RGBA at the uploaded 150x100: the
    picture as uploaded, alpha = a mask; the recipe's size says so) → smart-select (an L mask of
    the stored picture) → region with that mask: every pixel outside the mask stays the upload's."""
    as_uploaded = np.asarray(Image.open(photo(tmp_path / "photo.jpg")).convert("RGB"))
    uploaded = run_cli(
        tmp_path,
        tiny_model_dir,
        "upload",
        str(tmp_path / "photo.jpg"),
        "--prompt",
        "a ball",
        extra_env=EDITOR,
    )
    assert uploaded.returncode == 0, uploaded.stderr
    job = JOB_ID.findall(uploaded.stdout)[-1]
    original = tmp_path / "data" / "images" / job / "0.png"
    source = np.asarray(Image.open(original).convert("RGB"))
    assert source.shape[0] % 8 == 0 and source.shape[1] % 8 == 0 and source.shape[:2] == (96, 144)

    cut = run_cli(
        tmp_path, tiny_model_dir, "edit", "remove-background", job, "1", "-o", str(tmp_path / "cut.png"),
        extra_env=EDITOR,
    )  # fmt: skip
    assert cut.returncode == 0, cut.stderr
    picture = Image.open(tmp_path / "cut.png")
    assert picture.mode == "RGBA"
    pixels = np.asarray(picture)
    assert np.array_equal(pixels[..., :3], as_uploaded)  # the uploaded resolution, not the stored one
    assert set(np.unique(pixels[..., 3])) <= {0, 255}
    fields = parse_a1111_parameters(read_png_parameters(tmp_path / "cut.png"))
    assert fields["Background"] == "removed" and fields["Size"] == "150x100"

    selected = run_cli(
        tmp_path, tiny_model_dir, "edit", "smart-select", job, "1", "--point", "60,40", "-o", str(tmp_path / "mask.png"),
        extra_env=EDITOR,
    )  # fmt: skip
    assert selected.returncode == 0, selected.stderr
    mask = Image.open(tmp_path / "mask.png")
    assert mask.mode == "L" and mask.size == (source.shape[1], source.shape[0])
    assert parse_a1111_parameters(read_png_parameters(tmp_path / "mask.png"))["Select"] == "point 60,40"

    # A selection that is neither empty nor everything, so the region edit is meaningful.
    chosen = np.asarray(mask) > 127
    if chosen.all() or not chosen.any():
        chosen = np.zeros_like(chosen)
        chosen[: chosen.shape[0] // 2] = True
        Image.fromarray(chosen.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    region = run_cli(
        tmp_path, tiny_model_dir, "edit", "region", job, "1", "--mask", str(tmp_path / "mask.png"),
        "-o", str(tmp_path / "region.png"), extra_env=EDITOR,
    )  # fmt: skip
    assert region.returncode == 0, region.stderr
    result = tmp_path / "data" / "images" / JOB_ID.findall(region.stdout)[-1] / "0.png"
    after = np.asarray(Image.open(result).convert("RGB"))
    assert np.array_equal(after[~chosen], source[~chosen])
    assert not np.array_equal(after[chosen], source[chosen])


def test_upload_refuses_a_file_that_is_not_a_picture(tmp_path, tiny_model_dir):
    """Midjourney's `Invalid link`, exit 2, nothing stored."""
    (tmp_path / "notes.txt").write_text("not a picture")
    result = run_cli(tmp_path, tiny_model_dir, "upload", str(tmp_path / "notes.txt"))
    assert result.returncode == 2
    assert "Invalid link: notes.txt can't be used as an image" in result.stderr


def test_smart_select_needs_a_point_or_a_box(tmp_path, tiny_model_dir):
    """No `--point`/`--box`: one clear line, exit 2, before any model loads."""
    result = run_cli(
        tmp_path, tiny_model_dir, "edit", "smart-select", "0" * 8 + "-0000-0000-0000-" + "0" * 12
    )
    assert result.returncode == 2
    assert "Smart Select needs a point" in result.stderr
