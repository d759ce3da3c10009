"""One real local Ray cluster per pytest session (loopback, CPU only), and backends on it.

The cluster runs as `ray start --head --block` in its own session; teardown kills every process
of that session (Ray's workers and its Serve controller start their own process groups, but stay
in the session). The Ray tests skip when `ray[serve]` is not installed, except in CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.config import Config

REPLICAS = 2
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0"}


def require_ray() -> None:
    """Skip without ray[serve] (a developer's venv); in CI, missing Ray is a failure."""
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("ray[serve] is not installed (pip install '.[ray]')")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _session_pids(session: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:  # fields after the name: state ppid pgrp session
                pids.append(int(entry.name))
    return pids


def kill_session(session: int) -> None:
    """SIGKILL every process of a session (the cluster), never anything else."""
    for pid in _session_pids(session):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class RayCluster:
    address: str
    temp_dir: Path


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """A head node on 127.0.0.1 with 4 logical CPUs, no GPU, a small object store."""
    require_ray()
    port = _free_port()
    temp_dir = Path(f"/tmp/ray-t{os.getpid()}")  # Ray's socket paths must stay short
    log = (tmp_path_factory.mktemp("ray") / "head.log").open("w")
    saved = {name: os.environ.get(name) for name in RAY_ENV}
    os.environ.update(RAY_ENV)
    head = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ray"),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=4",
            "--num-gpus=0",
            "--object-store-memory=100000000",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp_dir}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **RAY_ENV},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
        yield RayCluster(f"127.0.0.1:{port}", temp_dir)
    finally:
        import ray

        with contextlib.suppress(Exception):
            ray.shutdown()
        kill_session(head.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(30)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def ray_settings(tiny_model_dir: Path, data_dir: Path, address: str, **overrides: str) -> Config:
    """Tiny-model settings for CPU replicas on the test cluster; aliases x and y are two more models."""
    env = {
        "MODEL": "tiny",
        "MODELS_DIR": str(tiny_model_dir.parent),
        "DATA_DIR": str(data_dir),
        "DEVICE": "cpu",
        "PROGRESS_INTERVAL": "0",
        "BACKEND": "ray",
        "RAY_ADDRESS": address,
        "RAY_REPLICAS": str(REPLICAS),
        "RAY_GPUS_PER_REPLICA": "0",
        "RAY_CPUS_PER_REPLICA": "1",
        "RAY_START_TIMEOUT": "180",
    }
    env.update(overrides)
    return Config.from_env(env)


def alias_models(tiny_model_dir: Path, root: Path) -> dict[str, str]:
    """Two more model folders (copies of the tiny model) for --version style aliases."""
    aliases = {}
    for name in ("x", "y"):
        folder = root / f"tiny-{name}"
        if not folder.exists():
            shutil.copytree(tiny_model_dir, folder)
        aliases[name] = str(folder)
    return aliases


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ray_backend(
    ray_cluster: RayCluster, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    """A started RayServeBackend with two CPU replicas, shared by the session's Ray tests."""
    from bot.jobs.factory import load_model_pool
    from bot.jobs.ray_backend import RayServeBackend

    root = tmp_path_factory.mktemp("ray-models")
    aliases = alias_models(tiny_model_dir, root)
    settings = ray_settings(
        tiny_model_dir,
        root / "data",
        ray_cluster.address,
        MODEL_ALIASES=",".join(f"{name}={path}" for name, path in aliases.items()),
    )
    backend = RayServeBackend(settings, load_model_pool, app_name="mj-test")
    await backend.start()
    yield backend
    await backend.stop()


class SharedBackend:
    """A started backend lent to one JobService: its start and stop do nothing."""

    def __init__(self, backend: Any) -> None:
        self.inner = backend

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    @property
    def family(self) -> Any:
        return self.inner.family

    @property
    def status(self) -> str | None:
        return getattr(self.inner, "status", None)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def submit(self, order: Any) -> Any:
        return self.inner.submit(order)

    def cancel(self, job_id: str) -> None:
        self.inner.cancel(job_id)
