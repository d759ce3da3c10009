"""A real bot process SIGKILLed while a job runs: after a restart, nothing is lost or doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def worker(data_dir: Path, models_dir: Path, deliveries: Path, *extra: str) -> subprocess.Popen[str]:
    log = (deliveries.parent / f"worker-{len(list(deliveries.parent.glob('worker-*')))}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.jobs._worker_proc",
            str(data_dir),
            str(models_dir),
            str(deliveries),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )


def test_sigkill_during_a_job_then_restart_delivers_everything_once(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """Kill -9 while the first job runs; the next process completes and delivers every job exactly once."""
    data_dir, deliveries = tmp_path / "data", tmp_path / "deliveries.txt"
    first = worker(data_dir, tiny_model_dir.parent, deliveries, "--submit", "3", "--step-seconds", "2")
    submitted, started = [], []
    try:
        for line in first.stdout:
            kind, job_id = line.split()
            (submitted if kind == "submitted" else started).append(job_id)
            if started and len(submitted) == 3:
                break
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    assert len(submitted) == 3
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        statuses = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    assert sorted(statuses.values()) == ["queued", "queued", "running"], (
        tmp_path / "worker-0.log"
    ).read_text()

    second = worker(data_dir, tiny_model_dir.parent, deliveries)
    assert second.wait(300) == 0, (tmp_path / "worker-1.log").read_text()[-3000:]

    lines = deliveries.read_text().split("\n")[:-1]
    assert sorted(lines) == sorted(f"{job_id} done 4" for job_id in submitted)
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        rows = db.execute("SELECT status, delivered, attempts FROM jobs").fetchall()
        images = db.execute("SELECT job_id, path FROM images").fetchall()
    assert sorted(rows) == [("done", 1, 1), ("done", 1, 1), ("done", 1, 2)]
    assert len(images) == 12
    assert all((data_dir / "images" / path).is_file() for _, path in images)


def test_sigkill_during_an_edit_then_restart_delivers_each_edit_once(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """Zoom Out, Pan and Vary (Region) jobs (mask on disk) survive kill -9 mid-run: after a
    restart each is done with four images and delivered exactly once."""
    data_dir, deliveries = tmp_path / "data", tmp_path / "deliveries.txt"
    first = worker(data_dir, tiny_model_dir.parent, deliveries, "--edits", "--step-seconds", "1")
    submitted, started = [], []
    try:
        for line in first.stdout:
            kind, job_id = line.split()
            (submitted if kind == "submitted" else started).append(job_id)
            if len(submitted) == 3 and started:
                break
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    edits = submitted
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        statuses = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    assert "running" in [statuses[job_id] for job_id in edits], (tmp_path / "worker-0.log").read_text()
    assert (data_dir / "images" / edits[2] / "mask.png").is_file()

    second = worker(data_dir, tiny_model_dir.parent, deliveries)
    assert second.wait(300) == 0, (tmp_path / "worker-1.log").read_text()[-3000:]
    lines = deliveries.read_text().split("\n")[:-1]
    for job_id in edits:
        assert lines.count(f"{job_id} done 4") == 1, lines
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        kinds = dict(db.execute("SELECT id, kind FROM jobs WHERE status = 'done'").fetchall())
    assert [kinds[job_id] for job_id in edits] == ["zoom", "pan", "region"]
