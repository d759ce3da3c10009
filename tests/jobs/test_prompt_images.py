"""A prompt's image link is fetched, decoded and stored once, scaled down, with bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
# Five members × --repeat 5 of a 4096×4096 PNG (16.8 megapixels, the most accepted) may raise the
# process's peak memory by at most this much: one picture decoded at a time (48 MiB RGB plus
# its copy while converting and resizing), never one per job.
PEAK_MEMORY_BOUND_MIB = 250


def _huge_png(path: Path) -> None:
    """4096×4096 (just under the pixel limit), a gradient: a few hundred kB on the wire."""
    gradient = Image.linear_gradient("L").resize((4096, 4096))
    Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90), gradient)).save(path)


def test_one_download_and_one_stored_input_per_prompt_with_bounded_memory(tmp_path: Path) -> None:
    """Five members × --repeat 5 of a huge link: 5 downloads, 1 downscaled input.png per prompt."""
    png = tmp_path / "huge.png"
    _huge_png(png)
    assert png.stat().st_size < 20 * 1024 * 1024
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "tests.jobs._huge_link_proc", str(png), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(report)
    assert report["downloads"] == 5 and report["hits"] == 5
    assert report["inodes_per_prompt"] == [1, 1, 1, 1, 1]
    assert report["input_sizes"] == [(512, 512)] or report["input_sizes"] == [[512, 512]]
    assert report["input_bytes"] < 1024 * 1024
    assert report["peak_after_mib"] - report["peak_before_mib"] < PEAK_MEMORY_BOUND_MIB
