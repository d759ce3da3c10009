"""BACKEND picks the backend for every entry point; a bad value is one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config
from bot.errors import ConfigError
from bot.jobs.backend import ThreadBackend
from bot.jobs.factory import make_backend

ROOT = Path(__file__).resolve().parents[2]


def test_bad_backend_is_one_line() -> None:
    """BACKEND=gpu names the variable and the choices."""
    with pytest.raises(ConfigError, match=r"^BACKEND='gpu' is not valid: expected one of thread, ray$"):
        Config.from_env({"BACKEND": "gpu"})


def test_cli_with_a_bad_backend_exits_2(tmp_path: Path) -> None:
    """`python -m bot imagine` with BACKEND=gpu prints one error line and exits 2."""
    env = {**os.environ, "BACKEND": "gpu", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "imagine", "a fox"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: BACKEND='gpu' is not valid: expected one of thread, ray"
    ]


def test_make_backend_follows_the_setting() -> None:
    """thread → ThreadBackend (capacity 1); ray → RayServeBackend with one slot per replica."""
    assert isinstance(make_backend(Config.from_env({})), ThreadBackend)
    assert make_backend(Config.from_env({})).capacity == 1
    pytest.importorskip("ray.serve")
    backend = make_backend(Config.from_env({"BACKEND": "ray", "RAY_REPLICAS": "3"}))
    assert type(backend).__name__ == "RayServeBackend"
    assert len(backend.slots) == 3 and backend.capacity == 0  # nothing reachable before start


def test_a_local_cluster_without_the_gpus_asked_for_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """RAY_ADDRESS empty on a box with fewer GPUs than replicas × GPUs: one line before any wait."""
    ray = pytest.importorskip("ray")
    from bot.jobs.factory import load_model_pool
    from bot.jobs.ray_backend import RayServeBackend

    backend = RayServeBackend(Config.from_env({"BACKEND": "ray", "RAY_REPLICAS": "2"}), load_model_pool)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    with pytest.raises(ConfigError) as raised:
        backend._check_resources()
    assert str(raised.value) == "RAY_REPLICAS=2 with RAY_GPUS_PER_REPLICA=1 needs 2 GPUs; this machine has 0"
