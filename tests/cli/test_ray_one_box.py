"""`BACKEND=ray` without `RAY_ADDRESS` on this one machine (issue 19, item 9): the bot starts a
Ray head on the loopback address itself, makes the grid, and stops the head on exit; without
GPUs the default `RAY_GPUS_PER_REPLICA=1` is refused at once, not after RAY_START_TIMEOUT."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.test_imagine_cli import run_cli
from tests.jobs.ray_cluster import require_ray


def _heads() -> set[Path]:
    return set(Path("/tmp").glob("ray-bot-*"))


@pytest.mark.slow
def test_the_one_box_ray_path_makes_a_grid_and_stops_its_head(tmp_path, tiny_model_dir):
    """`BACKEND=ray python -m bot imagine …` (no RAY_ADDRESS): a grid, exit 0, no head left."""
    require_ray()
    before = _heads()
    output = tmp_path / "grid.png"
    ray_env = {
        "BACKEND": "ray",
        "RAY_REPLICAS": "1",
        "RAY_GPUS_PER_REPLICA": "0",
        "RAY_CPUS_PER_REPLICA": "1",
    }
    result = run_cli(
        tmp_path, tiny_model_dir, "imagine", "a red fox --seed 3", "-o", str(output), extra_env=ray_env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with Image.open(output) as grid:
        assert grid.width > 0
    assert _heads() - before == set()  # its head (and the head's folder) is gone


@pytest.mark.slow
def test_gpu_replicas_on_a_machine_without_gpus_are_refused_at_once(tmp_path, tiny_model_dir):
    """The default RAY_GPUS_PER_REPLICA=1 with no GPU: one line naming it, exit 2, long before
    RAY_START_TIMEOUT (600 s)."""
    require_ray()
    before = _heads()
    started = time.monotonic()
    result = run_cli(tmp_path, tiny_model_dir, "imagine", "a red fox", extra_env={"BACKEND": "ray"})
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr[-3000:]
    assert "RAY_GPUS_PER_REPLICA=1 needs 1 GPUs; this machine has 0" in result.stderr
    assert elapsed < 200
    assert _heads() - before == set()
