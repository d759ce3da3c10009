"""The token file: `make run` creates .env readable only by its owner; a readable one is warned about."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import readable_by_others

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_creates_env_mode_600(tmp_path: Path) -> None:
    """`make run` in a fresh checkout: .env is created 0600 (the bot itself is stubbed)."""
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / ".env.example", tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv / "python").chmod(0o755)
    (tmp_path / "venv" / ".installed-test").touch()
    os.utime(tmp_path / "pyproject.toml", (1, 1))
    run = subprocess.run(
        ["make", "run", "VENV=venv"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_a_readable_env_file_is_warned_about(tmp_path: Path) -> None:
    """`python -m bot` with a world-readable .env logs a warning naming chmod 600."""
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=x\n")
    env_file.chmod(0o644)
    assert readable_by_others(env_file)
    data = tmp_path / "data"
    data.write_text("not a folder")  # stop right after the warning, before Discord
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(env_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DATA_DIR": str(data)},
        check=False,
    )
    assert "chmod 600" in run.stderr
    env_file.chmod(0o600)
    assert not readable_by_others(env_file)
