"""Video from the command line (tiny models): imagine a local file with --video, animate, extend."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from bot.cli.video import LOCAL_LINK, clip_outputs, local_pictures
from bot.jobs.video_files import read_frames, read_recipe
from tests.cli.test_imagine_cli import run_cli_here as run_cli

pytestmark = pytest.mark.slow

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VIDEO = {"VIDEO_FRAMES": "5", "VIDEO_STEPS": "1", "VIDEO_EXTEND_FRAMES": "4"}


def test_imagine_video_of_a_file_then_animate(tmp_path, tiny_model_dir):
    """`imagine "cat.png … --video --bs 2"` writes two clips; `edit animate JOB 2 --end FILE` one
    that ends on the file (Extend's CLI differs only in the job kind: tests/jobs cover Extend)."""
    Image.linear_gradient("L").resize((64, 64)).convert("RGB").save(tmp_path / "cat.png")
    Image.new("RGB", (64, 64), (10, 200, 30)).save(tmp_path / "end.png")
    made = run_cli(
        tmp_path, tiny_model_dir, "imagine", f"{tmp_path / 'cat.png'} a cat --video --bs 2 --motion high",
        "-o", str(tmp_path / "cat.mp4"), extra_env=VIDEO,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert [len(read_frames(tmp_path / f"cat-{n}.mp4")) for n in (1, 2)] == [5, 5]
    assert read_recipe(tmp_path / "cat-1.mp4")["motion"] == "high"

    grid = run_cli(tmp_path, tiny_model_dir, "imagine", "a fox --seed 3", "-o", str(tmp_path / "g.png"))
    assert grid.returncode == 0, grid.stderr
    animated = run_cli(
        tmp_path, tiny_model_dir, "edit", "animate", JOB_ID.findall(grid.stdout)[-1], "2",
        "--end", str(tmp_path / "end.png"), "--prompt", "the fox runs", "-o", str(tmp_path / "clip.mp4"),
        extra_env=VIDEO,
    )  # fmt: skip
    assert animated.returncode == 0, animated.stderr
    clip = read_frames(tmp_path / "clip.mp4")
    assert len(clip) == 5 and clip[-1].getpixel((32, 32))[1] > 150  # ends on the green end frame
    assert read_recipe(tmp_path / "clip.mp4")["prompt"] == "the fox runs"


def test_local_files_stand_in_for_links(tmp_path):
    """Files at the front of a prompt and after --end become stand-in links with their pictures."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    prompt, pictures = local_pictures(f"{tmp_path / 'a.png'} a cat --video --end {tmp_path / 'a.png'}")
    link = LOCAL_LINK.format("a.png")
    assert prompt == f"{link} a cat --video --end {link}" and set(pictures) == {link}
    assert local_pictures("a.png is not a file here --video") == ("a.png is not a file here --video", {})
    assert [p.name for p in clip_outputs(tmp_path / "c.png", 2)] == ["c-1.mp4", "c-2.mp4"]
