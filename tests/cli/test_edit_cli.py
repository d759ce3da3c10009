"""`python -m bot edit …` on jobs stored by `imagine`, as an operator would run it (tiny model)."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from tests.cli.test_imagine_cli import run_cli_here as run_cli

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_edit_pan_twice_and_vary_region_from_the_command_line(tmp_path, tiny_model_dir):
    """imagine → pan left → pan left again (each grid wider) → Vary (Region) on cells: PNG metadata
    records each operation; the region edit keeps every pixel outside its cells."""
    made = run_cli(
        tmp_path, tiny_model_dir, "imagine", "a lighthouse --seed 3", "-o", str(tmp_path / "g.png")
    )
    assert made.returncode == 0, made.stderr
    job = JOB_ID.findall(made.stdout)[-1]
    widths = [Image.open(tmp_path / "g.png").width]
    for step in (1, 2):
        output = tmp_path / f"pan{step}.png"
        panned = run_cli(
            tmp_path, tiny_model_dir, "edit", "pan", job, "1", "--direction", "left", "-o", str(output)
        )
        assert panned.returncode == 0, panned.stderr
        job = JOB_ID.findall(panned.stdout)[-1]
        widths.append(Image.open(output).width)
        image = tmp_path / "data" / "images" / job / "0.png"
        assert parse_a1111_parameters(read_png_parameters(image))["Pan"] == "left"
    assert widths[2] > widths[1] > widths[0]

    parent = tmp_path / "data" / "images" / job / "0.png"
    region = run_cli(
        tmp_path, tiny_model_dir, "edit", "region", job, "1", "--cells", "A1,A2,A3,A4", "--prompt", "a red door",
        "-o", str(tmp_path / "region.png"),
    )  # fmt: skip
    assert region.returncode == 0, region.stderr
    result = tmp_path / "data" / "images" / JOB_ID.findall(region.stdout)[-1] / "0.png"
    fields = parse_a1111_parameters(read_png_parameters(result))
    assert fields["prompt"] == "a red door" and fields["Mask"].startswith("25% box 0:0-")
    before, after = np.asarray(Image.open(parent)), np.asarray(Image.open(result))
    height = before.shape[0]
    assert np.array_equal(after[height // 4 :], before[height // 4 :])
    assert not np.array_equal(after[: height // 4], before[: height // 4])


def test_edit_refuses_a_region_without_cells_before_loading_the_model(tmp_path, tiny_model_dir):
    """No cells and no mask: one clear line, exit 2."""
    result = run_cli(tmp_path, tiny_model_dir, "edit", "region", "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert result.returncode == 2
    assert "needs `--cells" in result.stderr
