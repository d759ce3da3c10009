"""What a video job asks of the engine, as pure data (no torch): `VideoSpec`.

A video job's `GenerationRequest` carries its spec in `request.extra["video"]`, fixed when the job
is queued (frames, fps, steps, size), so a job that waits through a restart or a settings change
runs exactly as it was accepted. The prompt layer sets motion, raw, loop and end; the job layer
fills in the rest from the settings (`bot/jobs/video_jobs.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = [
    "MOTIONS",
    "VIDEO_KEY",
    "VideoSpec",
    "clip_size",
    "is_video",
    "valid_frame_count",
    "video_spec",
]

VIDEO_KEY = "video"
MOTIONS = ("low", "high")
# Wan's latents are 8x smaller than the frames and its transformer patches are 2x2: frame sides
# must be multiples of 16.
SIDE_MULTIPLE = 16
# Wan's VAE compresses time 4x: clips have 4k + 1 frames.
TIME_MULTIPLE = 4


@dataclass(frozen=True)
class VideoSpec:
    """One video job: Midjourney's parameters and the recipe fixed at submission."""

    motion: str = "low"
    raw: bool = False
    loop: bool = False
    # The --end link (downloaded into the job's folder as end.png); "" = none.
    end: str = ""
    # Clips per job (--bs 1|2|4).
    batch: int = 4
    frames: int = 81
    fps: int = 16
    steps: int = 30
    # The short side of the clip in pixels (480 = 480p); the long side follows the start image.
    resolution: int = 480
    # Extend: frames added to the clip (the parent clip's are kept).
    extend_frames: int = 64

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise ValueError(f"motion must be one of {', '.join(MOTIONS)}, got {self.motion!r}")
        if self.batch not in (1, 2, 4):
            raise ValueError(f"batch must be 1, 2 or 4, got {self.batch}")
        if self.loop and self.end:
            raise ValueError("loop and end cannot both be set")
        for name in ("frames", "extend_frames"):
            if not valid_frame_count(getattr(self, name) + (name == "extend_frames")):
                raise ValueError(f"{name} must be 4k + 1 (4k for extend_frames), got {getattr(self, name)}")
        if not 1 <= self.fps <= 60 or self.steps < 1 or self.resolution < SIDE_MULTIPLE:
            raise ValueError(f"bad fps/steps/resolution: {self.fps}/{self.steps}/{self.resolution}")

    @property
    def seconds(self) -> float:
        """Length of an animated clip."""
        return self.frames / self.fps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoSpec:
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})

    def with_(self, **changes: Any) -> VideoSpec:
        return replace(self, **changes)


def valid_frame_count(frames: int) -> bool:
    return frames >= 5 and (frames - 1) % TIME_MULTIPLE == 0


def is_video(extra: dict[str, Any]) -> bool:
    """Whether a request's `extra` describes a video job."""
    return isinstance(extra.get(VIDEO_KEY), dict)


def video_spec(extra: dict[str, Any]) -> VideoSpec:
    """The spec stored in a request's `extra`. Raises ValueError when there is none."""
    if not is_video(extra):
        raise ValueError("not a video request")
    return VideoSpec.from_dict(extra[VIDEO_KEY])


def clip_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """The clip size for a start image of `width` x `height`: its short side `resolution`, its
    aspect ratio kept as nearly as sides in multiples of 16 allow."""
    short = max(SIDE_MULTIPLE, resolution // SIDE_MULTIPLE * SIDE_MULTIPLE)
    ratio = max(width, height) / min(width, height)
    long = max(short, round(short * ratio / SIDE_MULTIPLE) * SIDE_MULTIPLE)
    return (long, short) if width >= height else (short, long)
