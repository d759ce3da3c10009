"""The video parameters: --video, --motion, --raw, --loop, --end, --bs, and Midjourney's errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.engine.video_spec import VIDEO_KEY, video_spec
from bot.errors import InvalidLink, InvalidParameter, InvalidPrompt
from bot.prompt import PromptContext, expand_prompt

IMAGE = "https://example.com/cat.png"

# (parameters typed after "<image> a cat --video", ImagineRequest field, expected value)
VALID = [
    ("", "video", True),
    ("", "motion", "low"),
    ("", "video_batch", 4),
    ("", "loop", False),
    ("--motion high", "motion", "high"),
    ("--motion LOW", "motion", "low"),
    ("--raw", "raw", True),
    ("--raw", "style", "raw"),
    ("--loop", "loop", True),
    ("--end https://example.com/dog.png", "end_url", "https://example.com/dog.png"),
    ("--end <https://example.com/dog.png>", "end_url", "https://example.com/dog.png"),
    ("--bs 1", "video_batch", 1),
    ("--bs 2", "video_batch", 2),
    ("—motion high", "motion", "high"),
]

# (prompt, error class, substrings of the message)
INVALID = [
    (f"{IMAGE} a cat --video --motion fast", InvalidParameter, ["--motion", "fast", "low or high"]),
    (f"{IMAGE} a cat --video --motion", InvalidParameter, ["--motion", "needs a value"]),
    (f"{IMAGE} a cat --video --bs 3", InvalidParameter, ["--bs", "3", "1, 2 or 4"]),
    (f"{IMAGE} a cat --video --loop yes", InvalidParameter, ["--loop", "takes no value"]),
    (f"{IMAGE} a cat --video --end cat.png", InvalidLink, ["cat.png", "http(s) link"]),
    ("a cat --video", InvalidPrompt, ["--video", "start image"]),
    (f"{IMAGE} {IMAGE} a cat --video", InvalidPrompt, ["one image", "2 image links"]),
    (f"{IMAGE} a cat --motion high", InvalidParameter, ["--motion", "only works with `--video`"]),
    (f"{IMAGE} a cat --bs 2", InvalidParameter, ["--bs", "only works with `--video`"]),
    (f"{IMAGE} a cat --video --loop --end {IMAGE}", InvalidParameter, ["--loop", "--end"]),
    (f"{IMAGE} a cat --video --tile", InvalidParameter, ["--tile", "--video"]),
]


@pytest.mark.parametrize(("params", "field", "expected"), VALID)
def test_valid_video_parameters(one, params: str, field: str, expected: object) -> None:
    """Each video parameter reads into the request, with Midjourney's defaults."""
    assert getattr(one(f"{IMAGE} a cat --video {params}"), field) == expected


@pytest.mark.parametrize(("prompt", "error", "parts"), INVALID)
def test_invalid_video_prompts(context: PromptContext, prompt: str, error: type, parts: list[str]) -> None:
    """Wrong values and mixes get Midjourney's errors, naming what was wrong."""
    with pytest.raises(error) as caught:
        expand_prompt(prompt, context)
    for part in parts:
        assert part in str(caught.value)


def test_video_needs_no_text(one) -> None:
    """An image link alone with --video is a job (Auto: the motion prompt is made for you)."""
    assert one(f"{IMAGE} --video").video


def test_video_generation_request_carries_the_spec(one) -> None:
    """The engine recipe: --bs clips, the motion/loop/end/raw spec in extra."""
    request = one(f"{IMAGE} a cat --video --motion high --bs 2 --raw").to_generation(seed=7)
    assert request.batch_size == 2 and request.seeds == [7, 8]
    spec = video_spec(request.extra)
    assert (spec.motion, spec.raw, spec.loop, spec.batch) == ("high", True, False, 2)
    assert VIDEO_KEY not in one("a cat").to_generation(seed=7).extra


def test_parse_cli_shows_video_parameters() -> None:
    """`python -m bot parse` prints the video parameters and exits 2 with the error on a bad one."""
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "parse", f"{IMAGE} a cat --video --motion high --loop --bs 1"],
        capture_output=True,
        text=True,
        check=True,
        env={"MODEL": "tiny", "PATH": ""},
    )
    job = json.loads(shown.stdout)["jobs"][0]
    assert (job["video"], job["motion"], job["loop"], job["video_batch"]) == (True, "high", True, 1)
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "parse", f"{IMAGE} a cat --video --motion fast"],
        capture_output=True,
        text=True,
        env={"MODEL": "tiny", "PATH": ""},
    )
    assert bad.returncode == 2 and "Invalid parameter" in bad.stderr
