"""The video parameters of a prompt: `--video`, `--motion`, `--loop`, `--end`, `--bs` (and `--raw`).

`/imagine <image link> [motion prompt] --video --motion high` animates the linked image (the start
frame), as Midjourney's V1 Video does. The checks answer like Midjourney: a wrong value is
`Invalid parameter` (from the parameter table), a video with no start image is `Invalid prompt`.
"""

from __future__ import annotations

from typing import Any

from bot.errors import InvalidParameter, InvalidPrompt

__all__ = ["VIDEO_ONLY", "check_video"]

# Parameters that mean something only with --video (keys in the parsed values, and as typed).
VIDEO_ONLY = {"motion": "--motion", "loop": "--loop", "end": "--end", "video_batch": "--bs"}
# Image parameters a video job cannot use.
NOT_WITH_VIDEO = {
    "tile": "--tile",
    "style_refs": "--sref",
    "character_refs": "--cref",
    "object_refs": "--oref",
    "draft": "--draft",
    "zoom": "--zoom",
}


def check_video(values: dict[str, Any], image_urls: tuple[str, ...]) -> bool:
    """Whether the prompt is a video job; raise InvalidParameter / InvalidPrompt on a bad mix."""
    if not values.get("video"):
        given = [typed for key, typed in VIDEO_ONLY.items() if key in values]
        if given:
            raise InvalidParameter(f"`{given[0]}` only works with `--video`.")
        return False
    if not image_urls:
        raise InvalidPrompt(
            "`--video` animates an image: put the link of the start image at the front of the prompt "
            "(`/imagine https://…/cat.png a cat stretches --video`)."
        )
    if len(image_urls) > 1:
        raise InvalidPrompt(
            f"`--video` animates one image, the start frame; this prompt has {len(image_urls)} image links "
            "(use `--end <link>` for the end frame)."
        )
    if values.get("loop") and values.get("end"):
        raise InvalidParameter(
            "`--loop` and `--end` cannot be used together: a loop ends on its start frame."
        )
    clashing = [typed for key, typed in NOT_WITH_VIDEO.items() if values.get(key)]
    if clashing:
        raise InvalidParameter(f"`{clashing[0]}` does not work with `--video`.")
    return True
