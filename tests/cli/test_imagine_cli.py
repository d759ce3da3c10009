"""`python -m bot imagine` end to end on the tiny model, as an operator would run it."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from bot.cli import main
from bot.jobs.files import parse_a1111_parameters, read_png_parameters

ROOT = Path(__file__).resolve().parents[2]


def _cli_env(tmp_path: Path, tiny_model_dir: Path, extra_env: dict[str, str] | None) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "MODEL": "tiny",
        "MODELS_DIR": str(tiny_model_dir.parent),
        "DATA_DIR": str(tmp_path / "data"),
        "DEVICE": "cpu",
        "STEPS": "2",
        "HF_HUB_OFFLINE": "1",
        **(extra_env or {}),
    }


def run_cli(
    tmp_path: Path, tiny_model_dir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in a fresh process with only the CLI's settings in its environment."""
    env = _cli_env(tmp_path, tiny_model_dir, extra_env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "none"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def run_cli_here(
    tmp_path: Path, tiny_model_dir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`run_cli` in this process: the same `bot.cli.main` with the same environment (swapped in
    and restored), stdout/stderr captured — without paying torch's import for every command.
    Tests that run a chain of commands use it; the README's commands keep their own processes."""
    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(
        {
            **{k: saved[k] for k in ("HOME", "TMPDIR", "LANG") if k in saved},
            **_cli_env(tmp_path, tiny_model_dir, extra_env),
        }
    )
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["--env-file", str(tmp_path / "none"), *args])
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["python", "-m", "bot", *args], code, out.getvalue(), err.getvalue())


def test_imagine_writes_a_grid_with_the_asked_aspect(tmp_path, tiny_model_dir):
    """`imagine "a red fox --ar 16:9 --seed 7"` writes a 16:9 grid and four PNGs with metadata."""
    output = tmp_path / "g.png"
    result = run_cli(
        tmp_path, tiny_model_dir, "imagine", "a red fox --ar 16:9 --seed 7 --no blur", "-o", str(output)
    )
    assert result.returncode == 0, result.stderr
    with Image.open(output) as grid:
        assert abs(grid.width / grid.height - 16 / 9) / (16 / 9) < 0.05
    [job_folder] = (tmp_path / "data" / "images").iterdir()
    pngs = sorted(job_folder.glob("[0-3].png"))
    assert len(pngs) == 4
    recipes = [parse_a1111_parameters(read_png_parameters(path)) for path in pngs]
    assert [recipe["Seed"] for recipe in recipes] == ["7", "8", "9", "10"]
    assert recipes[0]["prompt"] == "a red fox"
    assert recipes[0]["negative_prompt"] == "blur"
    assert recipes[0]["Steps"] == "2"
    assert recipes[0]["Model"] == "tiny"
    with Image.open(pngs[0]) as first:
        assert recipes[0]["Size"] == f"{first.width}x{first.height}"


def test_imagine_covers_what_the_nsfw_checker_flags(tmp_path, tiny_model_dir):
    """NSFW_FILTER=block with a real (tiny) checker that flags everything: the worker screens the
    images, the output grid is blank tiles, stderr says so, and the job's PNGs are untouched."""
    from bot.governance.nsfw import PLACEHOLDER_GREY
    from tests.tiny_checker import build_tiny_checker

    checker = build_tiny_checker(tmp_path / "checker", -1.0)
    output = tmp_path / "g.png"
    result = run_cli(
        tmp_path,
        tiny_model_dir,
        "imagine",
        "a red fox --seed 7",
        "-o",
        str(output),
        extra_env={"NSFW_FILTER": "block", "NSFW_MODEL": str(checker)},
    )
    assert result.returncode == 0, result.stderr
    assert "image #1, #2, #3, #4 covered (NSFW_FILTER=block)" in result.stderr
    with Image.open(output) as grid:
        colours = grid.convert("RGB").getcolors()
    assert colours is not None and [colour for _, colour in colours] == [PLACEHOLDER_GREY]
    [job_folder] = (tmp_path / "data" / "images").iterdir()
    with Image.open(job_folder / "0.png") as first:
        assert first.convert("RGB").getcolors() is None or len(first.convert("RGB").getcolors()) > 1


def test_imagine_refuses_a_bad_prompt_before_loading_the_model(tmp_path, tiny_model_dir):
    """A bad parameter prints Midjourney's error and exits 2."""
    result = run_cli(tmp_path, tiny_model_dir, "imagine", "a fox --stylise 100")
    assert result.returncode == 2
    assert "Invalid parameter" in result.stderr
    assert "--stylize" in result.stderr


def test_unreachable_discord_is_one_clear_line(tmp_path, tiny_model_dir):
    """`python -m bot` with Discord unreachable exits 2 naming DISCORD_API_BASE, no traceback."""
    env_file = tmp_path / "bot.env"
    env_file.write_text("DISCORD_TOKEN=not-a-real-token\nDISCORD_API_BASE=http://127.0.0.1:9/api/v10\n")
    result = run_cli(tmp_path, tiny_model_dir, "--env-file", str(env_file), "run")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "DISCORD_API_BASE=http://127.0.0.1:9/api/v10" in errors[0]
    assert "Traceback" not in result.stderr
    assert "not-a-real-token" not in result.stderr
    assert "voice will NOT be supported" not in result.stderr


def test_imagine_goes_through_the_admission_as_the_local_member(tmp_path, tiny_model_dir):
    """The CLI's prompt meets the same admission as Discord's: a built-in banned word is refused
    with Midjourney's error (exit 2) and no job is stored."""
    result = run_cli(tmp_path, tiny_model_dir, "imagine", "a nude statue", "-o", str(tmp_path / "g.png"))
    assert result.returncode == 2, result.stderr
    assert "Banned prompt detected" in result.stderr
    assert not (tmp_path / "g.png").exists()
    assert not any((tmp_path / "data" / "images").glob("*/0.png"))
