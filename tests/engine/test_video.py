"""The video engine on the embedded tiny Wan image-to-video model: Animate, --loop, --end, Extend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, JobCancelled, StepProgress
from bot.engine.video import VideoEngine, resolve_video_source
from bot.engine.video_spec import VIDEO_KEY, VideoSpec, clip_size
from bot.errors import ConfigError


@pytest.fixture(scope="module")
def video_engine(tiny_model_dir: Path) -> VideoEngine:
    """The tiny video model, built next to the tiny image model and loaded once."""
    source = resolve_video_source("auto", tiny_model_dir.parent, "tiny")
    assert source is not None and source.kind == "tiny"
    return VideoEngine(source, device=torch.device("cpu"), dtype=torch.float32)


def picture(seed: int, size: tuple[int, int] = (64, 64)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def request(spec: VideoSpec, seed: int = 5) -> GenerationRequest:
    return GenerationRequest(
        prompt="a fox",
        width=64,
        height=64,
        seed=seed,
        steps=spec.steps,
        guidance_scale=1.0,
        batch_size=spec.batch,
        extra={VIDEO_KEY: spec.to_dict()},
    )


SPEC = VideoSpec(batch=1, frames=5, fps=8, steps=2, resolution=64, extend_frames=4)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def animated(video_engine: VideoEngine) -> tuple[Image.Image, GenerationResult, list[tuple[int, int]]]:
    """Two clips of one source picture (--bs 2), with the progress they reported."""
    source, seen = picture(1), []
    spec = SPEC.with_(batch=2)
    result = video_engine.generate(
        Operation.ANIMATE,
        request(spec),
        GenerationInputs(image=source),
        lambda p: seen.append((p.step, p.total)),
    )
    return source, result, seen


def test_animate_starts_on_the_source_image_with_the_configured_frames(animated) -> None:
    """Each clip has `frames` frames at the clip size; frame 0 is the source image pixel for pixel."""
    source, result, _ = animated
    assert len(result.clips) == 2 and result.seeds == [5, 6]
    for clip in result.clips:
        assert len(clip) == 5 and clip[0].size == (64, 64)
        assert np.array_equal(pixels(clip[0]), pixels(source))
        assert not np.array_equal(pixels(clip[2]), pixels(source))  # the model made the rest
    assert result.details["video"]["fps"] == 8
    assert not np.array_equal(pixels(result.clips[0][2]), pixels(result.clips[1][2]))  # seeds differ


def test_loop_returns_to_the_first_frame(video_engine: VideoEngine) -> None:
    """--loop: the last frame is the first one."""
    source = picture(2)
    clip = video_engine.generate(
        Operation.ANIMATE, request(SPEC.with_(loop=True)), GenerationInputs(image=source)
    ).clips[0]
    assert np.array_equal(pixels(clip[-1]), pixels(clip[0]))


def test_end_reaches_the_end_image_and_conditions_the_clip(video_engine: VideoEngine) -> None:
    """--end: the last frame is the end image, and the frames between differ from a clip without it."""
    source, end = picture(3), picture(4)
    with_end = video_engine.generate(
        Operation.ANIMATE, request(SPEC), GenerationInputs(image=source, end_image=end)
    ).clips[0]
    without = video_engine.generate(Operation.ANIMATE, request(SPEC), GenerationInputs(image=source)).clips[0]
    assert np.array_equal(pixels(with_end[-1]), pixels(end))
    assert not np.array_equal(pixels(with_end[2]), pixels(without[2]))


def test_extend_keeps_the_clip_and_adds_frames(video_engine: VideoEngine, animated) -> None:
    """Extend: the original frames stay as they were, `extend_frames` new ones follow."""
    clip = animated[1].clips[0]
    longer = video_engine.generate(
        Operation.EXTEND, request(SPEC, seed=9), GenerationInputs(clip=tuple(clip))
    ).clips[0]
    assert len(longer) == len(clip) + 4
    for before, after in zip(clip, longer, strict=False):
        assert np.array_equal(pixels(before), pixels(after))


def test_cancel_stops_within_one_step(video_engine: VideoEngine) -> None:
    """Raising from the step callback stops the clip at that step: no later step runs."""
    seen: list[int] = []

    def on_step(progress: StepProgress) -> None:
        seen.append(progress.step)
        raise JobCancelled()

    spec = SPEC.with_(batch=2, steps=3)
    with pytest.raises(JobCancelled):
        video_engine.generate(Operation.ANIMATE, request(spec), GenerationInputs(image=picture(6)), on_step)
    assert seen == [1]


def test_progress_counts_steps_across_clips(animated) -> None:
    """Progress runs 1..steps×clips once."""
    seen = animated[2]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    ("size", "resolution", "expected"),
    [
        ((64, 64), 64, (64, 64)),
        ((1024, 576), 480, (848, 480)),
        ((576, 1024), 480, (480, 848)),
        ((300, 200), 64, (96, 64)),
    ],
)
def test_clip_size_keeps_the_aspect_in_multiples_of_16(size, resolution, expected) -> None:
    """Clip sizes: short side = resolution, long side by the aspect ratio, multiples of 16."""
    assert clip_size(*size, resolution) == expected


def test_video_model_setting(tmp_path: Path) -> None:
    """VIDEO_MODEL: off, auto (tiny beside the tiny model, else Wan 2.2), a hub id, a bad folder."""
    assert resolve_video_source("off", tmp_path, "hub") is None
    assert resolve_video_source("auto", tmp_path, "hub").location == "Wan-AI/Wan2.2-I2V-A14B-Diffusers"
    assert resolve_video_source("auto", tmp_path, "tiny").kind == "tiny"
    with pytest.raises(ConfigError, match="VIDEO_MODEL"):
        resolve_video_source(str(tmp_path), tmp_path, "hub")


def test_spec_rejects_bad_values() -> None:
    """Frame counts must suit Wan's 4x time compression; motion and --bs are checked."""
    with pytest.raises(ValueError):
        VideoSpec(frames=10)
    with pytest.raises(ValueError):
        VideoSpec(motion="fast")
    with pytest.raises(ValueError):
        VideoSpec(batch=3)
