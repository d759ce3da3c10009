"""`python -m bot parse`: JSON on stdout, or the error on stderr with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

JOB_KEYS = {
    "prompt", "negative_prompt", "image_urls", "weighted_prompts", "width", "height", "seed", "chaos",
    "stylize", "quality", "stop", "tile", "style", "weird", "image_weight", "speed", "steps",
    "guidance_scale", "image_strength",
}  # fmt: skip


@pytest.fixture
def env_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Settings for the tiny model, no .env file."""
    for name in ("MODEL_ALIASES", "STEPS", "MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL", "tiny")
    return ["--env-file", str(tmp_path / "absent.env")]


def test_parse_prints_one_job_per_permutation(env_args, capsys: pytest.CaptureFixture[str]) -> None:
    """`parse` prints {"jobs": [...]} with every documented key, one job per permutation."""
    status = main([*env_args, "parse", "a {red, blue} car --ar 16:9 --no text"])
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert status == 0
    assert [job["prompt"] for job in jobs] == ["a red car", "a blue car"]
    assert all(job.keys() >= JOB_KEYS and job["negative_prompt"] == "text" for job in jobs)
    assert (jobs[0]["width"], jobs[0]["height"], jobs[0]["steps"]) == (168, 96, 4)


def test_parse_accepts_user_and_guild_ids(env_args, capsys: pytest.CaptureFixture[str]) -> None:
    """`--user-id` and `--guild-id` are accepted (they select personal and guild settings)."""
    assert main([*env_args, "parse", "--user-id", "42", "--guild-id", "7", "a cat"]) == 0
    assert len(json.loads(capsys.readouterr().out)["jobs"]) == 1


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (
            "a cat --stylise 5",
            "Invalid parameter: Unrecognized parameter `--stylise`. Did you mean `--stylize`?",
        ),
        ("--ar 16:9", "Empty prompt"),
        ("ftp://e.com/a.png cat", "Invalid link"),
        ("a {b", "Invalid prompt"),
    ],
)
def test_parse_errors_go_to_stderr_with_status_2(env_args, capsys, prompt: str, message: str) -> None:
    """A bad prompt prints its Midjourney-style error on stderr, nothing on stdout, and exits 2."""
    status = main([*env_args, "parse", prompt])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert message in captured.err


def test_python_dash_m_bot_parse(tmp_path: Path) -> None:
    """The real command line works end to end in a fresh interpreter."""
    env = {**os.environ, "MODEL": "tiny", "MODEL_ALIASES": "", "STEPS": ""}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "absent.env"), "parse", "a cat --r 2"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=Path(__file__).parents[2],
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [job["repeat"] for job in json.loads(done.stdout)["jobs"]] == [0, 1]
