"""Clips on disk: MP4 (H.264, yuv420p, faststart) written with PyAV, read back for Extend.

Every MP4 carries its recipe in the container metadata (`comment`: JSON with prompt, motion, seed,
frames, fps, model; `title`: the prompt) and fits under a size limit (Discord's upload limit): a
clip that comes out bigger is encoded again at a lower quality, then smaller, and if nothing fits
the job fails with a message — never a file that silently cannot be posted.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from bot.errors import JobFailed

__all__ = ["POSTER_FILE", "VIDEO_FILE", "Mp4Info", "fit_clip", "read_frames", "read_recipe", "write_mp4"]

log = logging.getLogger(__name__)

VIDEO_FILE = "{}.mp4"
# The poster of clip n is the job's image n (`<n>.png`, with the PNG recipe): see video_jobs.
POSTER_FILE = "{}.png"
# (x264 constant rate factor, scale) tried in order until the file fits.
_ATTEMPTS = ((20, 1.0), (26, 1.0), (32, 1.0), (38, 1.0), (32, 0.75), (38, 0.5), (44, 0.375), (51, 0.25))


@dataclass(frozen=True)
class Mp4Info:
    """What was written: size on disk and the encoding that fitted."""

    path: Path
    bytes: int
    width: int
    height: int
    frames: int
    fps: int
    crf: int


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _encode(
    path: Path, frames: Sequence[Image.Image], fps: int, metadata: dict[str, str], crf: int, scale: float
) -> tuple[int, int]:
    import av

    width, height = _even(frames[0].width * scale), _even(frames[0].height * scale)
    # faststart (the index before the data, so a browser plays while downloading) rewrites the
    # file at the end: it needs a real file, not a BytesIO.
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        for key, value in metadata.items():
            container.metadata[key] = value
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for frame in frames:
            picture = frame.convert("RGB")
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.LANCZOS)
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return width, height


def write_mp4(
    path: Path, frames: Sequence[Image.Image], fps: int, recipe: dict[str, Any], max_bytes: int
) -> Mp4Info:
    """Write `frames` as an MP4 at `path` (atomically), under `max_bytes`. Raises JobFailed when
    even the smallest encoding is too big. Blocking: run in a thread."""
    if not frames:
        raise ValueError("a clip needs frames")
    metadata = {"title": str(recipe.get("prompt", ""))[:500], "comment": json.dumps(recipe, sort_keys=True)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".clip-", suffix=".mp4", dir=path.parent)
    os.close(handle)
    try:
        for crf, scale in _ATTEMPTS:
            width, height = _encode(Path(temporary), frames, fps, metadata, crf, scale)
            size = os.path.getsize(temporary)
            if size <= max_bytes:
                os.replace(temporary, path)
                return Mp4Info(path, size, width, height, len(frames), fps, crf)
            log.info(
                "clip %s is %d bytes at crf %d x%.2f, over %d: encoding it smaller",
                path.name,
                size,
                crf,
                scale,
                max_bytes,
            )
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    raise JobFailed(
        f"The clip does not fit in {max_bytes / 2**20:.1f} MB even at the lowest quality; "
        "try fewer frames (VIDEO_FRAMES) or a larger VIDEO_MAX_MB."
    )


def read_frames(path: Path) -> list[Image.Image]:
    """Every frame of an MP4, as RGB pictures (blocking)."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def read_recipe(path: Path) -> dict[str, Any]:
    """The recipe stored in an MP4's metadata ({} when there is none)."""
    import av

    with av.open(str(path)) as container:
        try:
            return json.loads(container.metadata.get("comment", "{}"))
        except ValueError:
            return {}


def fit_clip(path: Path, max_bytes: int) -> bytes:
    """The MP4 at `path` as bytes under `max_bytes` (an upload limit smaller than VIDEO_MAX_MB):
    the file itself when it fits, else encoded again smaller with its recipe kept (the file on
    disk stays as it is). Raises JobFailed when nothing fits. Blocking: run in a thread."""
    if path.stat().st_size <= max_bytes:
        return path.read_bytes()
    recipe = read_recipe(path)
    frames = read_frames(path)
    handle, temporary = tempfile.mkstemp(prefix=".upload-", suffix=".mp4", dir=path.parent)
    os.close(handle)
    try:
        write_mp4(Path(temporary), frames, int(recipe.get("fps") or 16), recipe, max_bytes)
        return Path(temporary).read_bytes()
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
