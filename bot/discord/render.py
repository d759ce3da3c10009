"""Pure helpers for what the Discord front shows: message text, upload-sized images, custom ids.

Nothing here talks to Discord; the cogs in `bot/discord/exts/` call these and send the result. Keeping
them pure lets the tests check Midjourney's wording, the 2000-character limit and the upload
limit without a bot.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, PngImagePlugin

MAX_CONTENT = 2000
# Discord's upload limit for a server without boosts; used when an interaction did not say.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
# Multipart framing and the JSON payload travel in the same request as the file.
_UPLOAD_HEADROOM = 16 * 1024
_UPLOAD_HEADROOM_SHARE = 20  # at most 1/20 of the limit, for very small limits
_WEBP_QUALITIES = (92, 85, 75, 65, 50)
_SMALLEST_SIDE = 64

# Variation / upscale modes as Midjourney names them in its messages.
_MODE_LABELS = {"strong": "Strong", "subtle": "Subtle", "creative": "Creative"}


def mention(user_id: int) -> str:
    return f"<@{user_id}>"


def _message(prompt: str, middle: str, suffix: str) -> str:
    """`**prompt**` + the rest, shortening the prompt so the whole text fits one message."""
    prompt = " ".join(prompt.split()) or "(no prompt)"
    # `*` would close the bold early; Midjourney shows the prompt verbatim, so escape it.
    prompt = prompt.replace("*", "\\*")
    rest = f" - {middle}{suffix}"
    room = MAX_CONTENT - len(rest) - 4
    if len(prompt) > room:
        prompt = prompt[: room - 1].rstrip("\\") + "…"
    return f"**{prompt}**{rest}"


def progress_content(
    prompt: str, user_id: int, *, percent: int | None = None, position: int | None = None
) -> str:
    """`**prompt** - @user (Waiting to start)` before the job runs, `(42%)` while it runs.

    `position` is the number of jobs ahead in the queue; it is shown when some are.
    """
    if percent is not None:
        status = f"({max(0, min(100, percent))}%)"
    elif position:
        status = f"(Waiting to start, {position} ahead in queue)"
    else:
        status = "(Waiting to start)"
    return _message(prompt, mention(user_id), f" {status}")


# Editing jobs: what their result message says before `by @user`, from the job's mode.
EDIT_LABELS = {
    "zoom": lambda mode: "Make Square" if mode == "square" else "Zoom Out",
    "pan": lambda mode: f"Pan {(mode or '').title()}",
    "region": lambda mode: "Variations (Region)",
    "retexture": lambda mode: "Retexture",
    "instruct": lambda mode: "Edit",
    "animate": lambda mode: f"Animate ({(mode or 'low').title()} motion)",
    "extend": lambda mode: f"Extend ({(mode or 'low').title()} motion)",
}


def mode_label(mode: str | None) -> str:
    return _MODE_LABELS.get((mode or "strong").lower(), (mode or "strong").title())


def result_content(
    kind: str, prompt: str, user_id: int, *, mode: str | None = None, speed: str = "fast"
) -> str:
    """The text of a finished job's message, worded like Midjourney's.

    imagine / reroll: `**p** - @u (fast)`; variation: `**p** - Variations (Strong) by @u (fast)`;
    upscale: `**p** - Upscaled (Subtle) by @u (fast)`; zoom: `Zoom Out by` (`Make Square by`);
    pan: `Pan Left by`; region: `Variations (Region) by`.
    """
    who = mention(user_id)
    if kind in EDIT_LABELS:
        middle = EDIT_LABELS[kind](mode)
        return _message(prompt, f"{middle} by {who}", f" ({speed})")
    if kind == "variation":
        return _message(prompt, f"Variations ({mode_label(mode)}) by {who}", f" ({speed})")
    if kind == "upscale":
        return _message(prompt, f"Upscaled ({mode_label(mode or 'subtle')}) by {who}", f" ({speed})")
    return _message(prompt, who, f" ({speed})")


def single_image_content(prompt: str, index: int, user_id: int) -> str:
    """`**prompt** - Image #2 @user`: the message a U button posts (index is 1-based)."""
    return _message(prompt, f"Image #{index} {mention(user_id)}", "")


def ended_content(prompt: str, user_id: int, status: str) -> str:
    """`**prompt** - @user (Cancelled)` / `(Failed)` for a job that will not deliver images."""
    return _message(prompt, mention(user_id), f" ({status})")


# Midjourney asks "Do you want to submit N prompts?" above this many jobs.
CONFIRM_OVER = 5


def confirm_content(count: int) -> str:
    """The question asked before submitting more than a handful of jobs at once."""
    return f"Do you want to submit **{count}** prompts? Each one becomes a separate job."


@dataclass(frozen=True)
class EncodedImage:
    """Bytes ready to upload, their file name and the pixel size actually sent."""

    data: bytes
    filename: str
    width: int
    height: int


def upload_budget(limit: int | None) -> int:
    """Bytes one uploaded image may take, given the limit Discord reported (None: the default)."""
    limit = limit or DEFAULT_UPLOAD_LIMIT
    return max(1024, limit - min(_UPLOAD_HEADROOM, limit // _UPLOAD_HEADROOM_SHARE))


def encode_to_fit(image: Image.Image, limit: int | None, stem: str) -> EncodedImage:
    """Encode `image` for upload within `limit` bytes.

    PNG when it fits (lossless, what Midjourney sends); otherwise WebP at falling quality; then
    WebP at smaller sizes. The full PNG stays on disk either way. Raises ValueError when not
    even a 64-pixel WebP fits, which only a nonsensical limit can cause.
    """
    budget = upload_budget(limit)
    parameters = image.info.get("parameters")
    png = _encode(image, "PNG", pnginfo=_png_text(parameters))
    if len(png) <= budget:
        return EncodedImage(png, f"{stem}.png", image.width, image.height)
    current = image.convert("RGB")
    exif = _exif_user_comment(parameters)
    while True:
        for quality in _WEBP_QUALITIES:
            data = _encode(current, "WEBP", quality=quality, exif=exif)
            if len(data) <= budget:
                return EncodedImage(data, f"{stem}.webp", current.width, current.height)
        if min(current.size) <= _SMALLEST_SIDE:
            raise ValueError(f"cannot encode a {image.width}x{image.height} image within {budget} bytes")
        scale = 0.75
        size = (max(1, round(current.width * scale)), max(1, round(current.height * scale)))
        current = current.resize(size, Image.Resampling.LANCZOS)


def preview_bytes(image: Image.Image, max_side: int = 256) -> bytes:
    """A small JPEG of a progress preview (cheap to upload every couple of seconds)."""
    preview = image.convert("RGB")
    preview.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return _encode(preview, "JPEG", quality=70)


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **{key: value for key, value in options.items() if value is not None})
    return buffer.getvalue()


def _png_text(parameters: str | None) -> PngImagePlugin.PngInfo | None:
    """The `parameters` text chunk AUTOMATIC1111 writes (and SD tools read back)."""
    if parameters is None:
        return None
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters)
    return info


def _exif_user_comment(parameters: str | None) -> bytes | None:
    """EXIF with `parameters` in UserComment, as AUTOMATIC1111 writes it for JPEG/WebP:
    the 8-byte "UNICODE" character-code prefix, then UTF-16 big-endian text."""
    if parameters is None:
        return None
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = b"UNICODE\0" + parameters.encode("utf-16-be")
    return exif.tobytes()
