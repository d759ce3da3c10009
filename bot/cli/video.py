"""Video from the command line: `edit animate|extend` and `imagine "<link or file> … --video"`.

    python -m bot edit animate JOB 2 --motion high --loop -o clip.mp4    # Animate image #2
    python -m bot edit animate JOB 1 --end last.png --prompt "the door opens" -o clip.mp4
    python -m bot edit extend  JOB 1 --motion low -o longer.mp4          # Extend clip #1
    python -m bot imagine "cat.png a cat stretches --video --motion high" -o cat.mp4

A local file may stand where the prompt (or `--end`) wants an image link: it is read here and
handed to the job system as an upload, under a `file:` stand-in link. `--bs` clips are written as
`clip.mp4` (one) or `clip-1.mp4`, `clip-2.mp4`, … beside each other.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path
from typing import Any

from PIL import Image

from bot.errors import InvalidLink

__all__ = [
    "VIDEO_OPERATIONS",
    "add_video_arguments",
    "clip_outputs",
    "copy_clips",
    "local_pictures",
    "video_job",
]

VIDEO_OPERATIONS = ("animate", "extend")
# The stand-in link of a local file: a host no request can reach (`.invalid` is reserved).
LOCAL_LINK = "https://local-file.invalid/{}"


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--motion", choices=("low", "high"), default="low", help="animate/extend: motion")
    parser.add_argument("--loop", action="store_true", help="animate: end on the start frame")
    parser.add_argument("--end", type=Path, help="animate: an image file, the end frame")
    parser.add_argument(
        "--bs", type=int, choices=(1, 2, 4), default=1, help="animate/extend: clips (default 1)"
    )


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as picture:
            return picture.convert("RGB")
    except (OSError, ValueError):
        raise InvalidLink(f"Cannot read the image {path}.") from None


def local_pictures(prompt: str) -> tuple[str, dict[str, Image.Image]]:
    """`prompt` with the image files at its front and after `--end` replaced by stand-in links,
    and the pictures read from them by link."""
    words = prompt.split(" ")
    pictures: dict[str, Image.Image] = {}
    for n, word in enumerate(words):
        front = all(not earlier or earlier in pictures for earlier in words[:n])
        after_end = n > 0 and words[n - 1].lower() in ("--end", "—end")
        if (front or after_end) and word and not word.startswith(("http://", "https://", "<")):
            path = Path(word).expanduser()
            if path.is_file():
                link = LOCAL_LINK.format(path.name.replace(" ", "_"))
                pictures[link] = _open(path)
                words[n] = link
    return " ".join(words), pictures


def video_job(args: argparse.Namespace, parent: Any, new_job: Any) -> Any:
    """The Animate / Extend job the action table made (`new_job`, through the admission; its
    request is the `--prompt` remix or None) with `edit`'s `--bs`, `--loop` and `--end FILE`."""
    import dataclasses

    from bot.engine.video_spec import VIDEO_KEY

    base = new_job.request
    if base is None:  # no --prompt: the parent's prompt ("Auto"); Animate drops its negative prompt
        base = parent.generation_request
        if args.operation == "animate":
            base = dataclasses.replace(base, negative_prompt="", weighted_prompts=())
    spec = {**base.extra.get(VIDEO_KEY, {}), "batch": args.bs}
    uploads = []
    if args.operation == "animate":
        spec.update(loop=args.loop, end="")
        if args.end is not None:
            uploads.append(_open(args.end))
            spec["end"] = LOCAL_LINK.format(args.end.name)
    request = dataclasses.replace(base, extra={**base.extra, VIDEO_KEY: spec})
    return dataclasses.replace(new_job, request=request, uploads=uploads)


def clip_outputs(destination: Path, count: int) -> list[Path]:
    """`clip.mp4` for one clip; `clip-1.mp4`, `clip-2.mp4`, … for several."""
    destination = destination.with_suffix(".mp4")
    if count == 1:
        return [destination]
    return [destination.with_name(f"{destination.stem}-{n}.mp4") for n in range(1, count + 1)]


async def copy_clips(folder: Path, count: int, destination: Path) -> list[Path]:
    """Copy the `count` clips of the job in `folder` to the outputs named after `destination`."""
    from bot.jobs.video_jobs import clip_path

    outputs = clip_outputs(destination, count)
    destination.parent.mkdir(parents=True, exist_ok=True)
    for n, output in enumerate(outputs):
        await asyncio.to_thread(shutil.copyfile, clip_path(folder, n), output)
    return outputs
