"""Uploads become jobs (issue 22): an outside picture stored as a finished job of its own kind.

`python -m bot upload FILE`, Discord's `/edit image:<attachment> [prompt]` and the web's Create
page (drop or pick a file) all call `Uploads.upload`. The picture follows the attachment rules
(at most `MAX_IMAGE_BYTES`, its format sniffed from the bytes — PNG, JPEG, WebP or GIF — and at
most `MAX_IMAGE_PIXELS` read from the header before anything is decoded), is scaled down (never
up) to fit the model's native area with both sides a multiple of 8, and is written as image #1
of a DONE job (`JobKind.UPLOAD`, the uploader as owner, no GPU time). Every single-image action
(Vary, Upscale, Zoom, Pan, Vary (Region), Remove background, Smart Select) then works on it as on
an upscaled image of the bot's own; its prompt (optional) goes through the same banned words and
channel rules as any prompt. When fitting changed the picture's size, the picture as uploaded is
kept beside it (`UPLOAD_ORIGINAL`): Remove background cuts out at the uploaded resolution.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from bot.engine.family import ModelFamily
from bot.engine.request import GenerationRequest
from bot.errors import InvalidLink
from bot.jobs.derive import random_seed
from bot.jobs.downloads import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, decode_image
from bot.jobs.editor_jobs import UPLOAD_ORIGINAL
from bot.jobs.files import a1111_parameters, save_image
from bot.jobs.image_jobs import upload_too_large
from bot.jobs.models import Job, JobImage, JobKind, JobStatus, new_job_id
from bot.prompt.context import family_for_model

if TYPE_CHECKING:
    from bot.governance.admission import Admission, Place

__all__ = ["UPLOAD_MODEL_NAME", "Uploads", "fit_upload", "not_an_image"]

log = logging.getLogger(__name__)

# What an upload's recipe names as its "model".
UPLOAD_MODEL_NAME = "upload"
_MAX_PROMPT = 4000


def not_an_image(name: str) -> InvalidLink:
    """The error for an upload that is not a usable picture."""
    return InvalidLink(
        f"{name} can't be used as an image: upload a PNG, JPEG, WebP or GIF of at most "
        f"{math.isqrt(MAX_IMAGE_PIXELS)}x{math.isqrt(MAX_IMAGE_PIXELS)} pixels."
    )


def fit_upload(picture: Image.Image, family: ModelFamily) -> Image.Image:
    """The picture scaled down (never up) to the family's native area, both sides cut to a multiple
    of 8 (centred): the sizes the pipelines take."""
    scale = min(1.0, math.sqrt(family.native_area / (picture.width * picture.height)))
    if scale < 1.0:
        size = (max(8, round(picture.width * scale)), max(8, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    width, height = max(8, picture.width // 8 * 8), max(8, picture.height // 8 * 8)
    if (width, height) != picture.size:
        if picture.width < 8 or picture.height < 8:
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        else:
            left, top = (picture.width - width) // 2, (picture.height - height) // 2
            picture = picture.crop((left, top, left + width, top + height))
    return picture


def _decode(name: str, data: bytes) -> Image.Image:
    try:
        return decode_image(data)
    except (OSError, ValueError, Image.DecompressionBombError, EOFError) as error:
        log.info("refused upload %s: %s", name, error)
        raise not_an_image(name) from None


@dataclass
class Uploads:
    """Stores uploads as jobs, with admission's rules for the prompt and the channel."""

    admission: Admission

    def _family(self) -> ModelFamily:
        """The loaded model's family; before the service starts (the CLI's `upload` loads no
        model), the family MODEL names, read without loading any weights."""
        try:
            return self.admission.jobs.family
        except RuntimeError:
            config = self.admission.config
            return family_for_model(config.model, config.models_dir, config.device)

    async def upload(
        self,
        name: str,
        data: bytes,
        place: Place,
        *,
        prompt: str = "",
        meta: dict[str, Any] | None = None,
    ) -> Job:
        """Store `data` (a file named `name`) as a finished upload job owned by `place.user_id`.
        Raises InvalidLink (too big, not an image), BannedPrompt, ChannelNotAllowed."""
        # 1. The rules that need no decoding: size, the channel, the prompt's words.
        if len(data) > MAX_IMAGE_BYTES:
            raise upload_too_large(name)
        prompt = " ".join(prompt.split())[:_MAX_PROMPT]
        await self.admission.check_channel(place)
        if prompt:
            await self.admission.check_text(prompt, place.guild_id)
        # 2. Sniff the format and read the size from the header, then decode and fit.
        jobs = self.admission.jobs
        family = self._family()
        original = await asyncio.to_thread(_decode, name, data)
        picture = await asyncio.to_thread(fit_upload, original, family)
        kept = original.size != picture.size  # Remove background works on the original
        # 3. A finished job with the picture as image #1.
        seed = random_seed()
        request = GenerationRequest(
            prompt=prompt,
            width=picture.width,
            height=picture.height,
            seed=seed,
            steps=family.default_steps,
            guidance_scale=family.default_guidance,
            batch_size=1,
        )
        now = time.time()
        job = Job(
            id=new_job_id(),
            kind=JobKind.UPLOAD,
            status=JobStatus.QUEUED,
            user_id=place.user_id,
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            prompt=prompt,
            request=request.to_dict(),
            seeds=[seed],
            enqueued_at=now,
            meta={
                **(meta or {}),
                "upload": name[:200],
                **({"original_size": list(original.size)} if kept else {}),
            },
        )
        parameters = a1111_parameters(
            prompt=prompt,
            negative_prompt="",
            steps=0,
            sampler="",
            guidance_scale=0.0,
            seed=seed,
            width=picture.width,
            height=picture.height,
            model=UPLOAD_MODEL_NAME,
            extra={"Upload": name[:200]},
        )
        path = jobs.job_folder(job.id) / "0.png"
        await asyncio.to_thread(save_image, path, picture, parameters)
        if kept:
            await asyncio.to_thread(save_image, path.with_name(UPLOAD_ORIGINAL), original.convert("RGB"))
        image = JobImage(job.id, 0, path, picture.width, picture.height, seed)
        await jobs.repository.insert_job(job)
        await jobs.repository.mark_done(job.id, [image], now, 0.0)
        job.status, job.finished_at = JobStatus.DONE, now
        log.info("stored upload %s as job %s for user %s", name, job.id, place.user_id)
        return job
