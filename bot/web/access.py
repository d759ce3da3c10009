"""Who may see which job on the web, and what a job looks like to the templates and the page's JS.

A member sees their own jobs, and the jobs of a server they belong to (as Discord listed their
servers at sign-in) unless the job is stealth: made in stealth mode, or its owner is in stealth
mode now. Everything else answers 404, as if the job did not exist.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from bot.engine.shorten import STRIKE_BELOW
from bot.jobs.actions import Surface, web_buttons
from bot.jobs.models import Job, JobImage, JobKind, JobStatus, WebSession
from bot.jobs.service import JobService
from bot.jobs.video_jobs import is_video_job
from bot.prompt.params import normalise_dashes, split_parameters
from bot.services import library_of

__all__ = ["JOB_ID", "clip_url", "job_summary", "job_view", "may_see", "visible_job"]

JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KIND_LABELS = {
    JobKind.IMAGINE: "Imagine",
    JobKind.VARIATION: "Variations",
    JobKind.REROLL: "Reroll",
    JobKind.UPSCALE: "Upscale",
    JobKind.ZOOM: "Zoom Out",
    JobKind.PAN: "Pan",
    JobKind.REGION: "Vary (Region)",
    JobKind.ANIMATE: "Animate",
    JobKind.EXTEND: "Extend",
    JobKind.BLEND: "Blend",
    JobKind.DESCRIBE: "Describe",
    JobKind.SHORTEN: "Shorten",
    JobKind.RETEXTURE: "Retexture",
    JobKind.INSTRUCT: "Edit",
    JobKind.UPLOAD: "Upload",
    JobKind.BACKGROUND: "Remove Background",
    JobKind.SELECT: "Smart Select",
}


async def visible_job(jobs: JobService, session: WebSession, job_id: str) -> Job:
    """The job if this member may see it; 404 otherwise (also for ids that are not job ids)."""
    if not JOB_ID.match(job_id):
        raise web.HTTPNotFound()
    job = await jobs.get_job(job_id)
    if job is None or not await may_see(jobs, session, job):
        raise web.HTTPNotFound()
    return job


async def may_see(jobs: JobService, session: WebSession, job: Job) -> bool:
    """Own jobs; others' only in a server the member belongs to, and not stealth."""
    if job.user_id == session.user_id:
        return True
    shared = job.guild_id is not None and job.guild_id in session.guild_ids()
    return shared and not await library_of(jobs).is_hidden(job)


def image_url(job_id: str, index: int) -> str:
    return f"/images/{job_id}/{index}.png"


def clip_url(job_id: str, index: int) -> str:
    """The MP4 of clip `index` (0-based) of a video job."""
    return f"/clips/{job_id}/{index}.mp4"


def job_summary(job: Job, images: list[JobImage] | None = None) -> dict[str, Any]:
    """What the Create page's script needs about a job (JSON)."""
    images = sorted(images or [], key=lambda image: image.index)
    grid = len(images) > 1
    video = is_video_job(job) and job.status is JobStatus.DONE
    # A video job's grid: U-n opens clip n (with Extend), 🔄; no V buttons.
    skip = frozenset({"favourite", "vary", "enhance"}) if video else frozenset({"favourite"})
    return {
        "id": job.id,
        "url": f"/jobs/{job.id}",
        "kind": job.kind.value,
        "label": KIND_LABELS.get(job.kind, job.kind.value),
        "status": job.status.value,
        "prompt": job.prompt,
        "error": job.error,
        "grid": grid,
        "picture": f"/images/{job.id}/grid.png" if grid else (image_url(job.id, 0) if images else None),
        "images": [{"n": image.index + 1, "url": image_url(job.id, image.index)} for image in images],
        # Video jobs: the MP4 of each clip (the pictures are their posters).
        "video": video,
        "clips": [clip_url(job.id, image.index) for image in images] if video else [],
        "upscaled": job.kind is JobKind.UPSCALE,
        "text": text_result(job),
        # The grid's buttons, from the action table (bot/jobs/actions.py); app.js draws them.
        "buttons": web_buttons(Surface.GRID, draft=_is_draft(job), count=len(images), skip=skip)
        if grid and job.status is JobStatus.DONE
        else [],
    }


def _is_draft(job: Job) -> bool:
    """A --draft grid (✨ Enhance applies to it)."""
    return bool(job.request) and job.generation_request.is_draft


def single_buttons(job: Job, image: JobImage) -> list[list[dict[str, Any]]]:
    """The buttons under one image, from the action table (the job page draws them)."""
    if is_video_job(job):  # one clip: Extend (Low/High motion), 🔄
        return web_buttons(Surface.VIDEO, index=image.index + 1)
    facts = {"upscaled"} if job.kind is JobKind.UPSCALE else set()
    if image.width == image.height:
        facts.add("square")
    return web_buttons(Surface.SINGLE, index=image.index + 1, facts=facts)


def text_result(job: Job) -> dict[str, Any] | None:
    """What a finished /describe (its numbered suggestions) or /shorten (the words with their
    importance, struck out below STRIKE_BELOW, and the shorter prompts with the original
    parameters) shows; None for jobs that make pictures."""
    result = job.meta.get("result") or {}
    if job.kind is JobKind.DESCRIBE and job.status is JobStatus.DONE:
        return {"prompts": [str(prompt) for prompt in result.get("prompts") or []]}
    if job.kind is JobKind.SHORTEN and job.status is JobStatus.DONE:
        words = [
            {"word": str(word), "score": round(float(score), 2), "struck": float(score) < STRIKE_BELOW}
            for word, score in result.get("words") or []
        ]
        params = job.meta.get("params", "")
        shorter = [f"{text} {params}".strip() for text in (result.get("shorter") or [])[:5]]
        ranked = sorted(words, key=lambda item: -item["score"])
        return {"words": words, "ranked": ranked, "shorter": shorter}
    return None


def prompt_parameters(job: Job) -> list[tuple[str, str]]:
    """What the job page lists: the prompt's own parameters as typed (`--ar 16:9`, `--p m7k2q9`),
    then the size and model they became; never the engine's internals (batch size, `extra`)."""
    _text, pairs = split_parameters(normalise_dashes(job.prompt))
    shown = [(f"--{name}", value or "on") for name, value in pairs]
    request = job.request or {}
    if request.get("width") and request.get("height"):
        shown.append(("Size", f"{request['width']} × {request['height']}"))
    if request.get("model"):
        shown.append(("Model", str(request["model"])))
    if request.get("steps"):
        shown.append(("Steps", str(request["steps"])))
    return shown


def job_view(job: Job, images: list[JobImage], favourites: set[int]) -> dict[str, Any]:
    """Everything the Job page shows: picture, prompt, every parameter, seeds, images."""
    images = sorted(images, key=lambda image: image.index)
    summary = job_summary(job, images)
    return {
        **summary,
        "done": job.status is JobStatus.DONE,
        "hidden": bool(job.meta.get("hidden")),
        "parameters": prompt_parameters(job),
        "seeds": job.seeds,
        "mode": job.mode,
        "speed": job.speed,
        "guild_id": job.guild_id,
        "parent_id": job.parent_id,
        "parent_index": None if job.parent_index is None else job.parent_index + 1,
        "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(job.enqueued_at)),
        "image_list": [
            {
                "n": image.index + 1,
                "index": image.index,
                "url": image_url(job.id, image.index),
                "download": f"{image_url(job.id, image.index)}?download=1",
                "width": image.width,
                "height": image.height,
                "seed": image.seed,
                "favourite": image.index in favourites,
                "buttons": single_buttons(job, image),
                "clip": clip_url(job.id, image.index) if summary["video"] else None,
            }
            for image in images
        ],
    }
