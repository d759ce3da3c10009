"""Stored job data: what a front submits (`NewJob`), what the queue keeps (`Job`, `JobImage`), and
the per-user / per-guild records later issues build on. Plain dataclasses; SQL lives in
`bot/store/` (which imports these; this package never imports the store).

Timestamps are Unix seconds (float, UTC).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.engine.request import GenerationRequest

if TYPE_CHECKING:
    from bot.jobs.prompt_images import PromptImages


class JobKind(StrEnum):
    """What a job does. Blend and describe are stored names for later issues; the rest run."""

    IMAGINE = "imagine"
    VARIATION = "variation"
    REROLL = "reroll"
    UPSCALE = "upscale"
    ZOOM = "zoom"
    PAN = "pan"
    REGION = "region"
    BLEND = "blend"
    DESCRIBE = "describe"
    SHORTEN = "shorten"
    RETEXTURE = "retexture"  # the image's structure, a new look from the prompt (ControlNet)
    INSTRUCT = "instruct"  # the image changed by an instruction (the Edit model, LEDITS++)
    # The editor (issue 22): an outside picture stored as a job (no GPU time), its background
    # removed (RGBA), Smart Select's mask for a click or a box.
    UPLOAD = "upload"
    BACKGROUND = "background"
    SELECT = "select"
    # Video (bot/jobs/video_jobs.py): Animate one image, Extend one clip.
    ANIMATE = "animate"
    EXTEND = "extend"


# Jobs that make a working file for another tool, not a picture: a Smart Select mask is a step of
# the editor (each click in the web editor is one). They are kept (limits, GPU accounting, the job
# page) but never listed: not in the archive, the Create page's recent jobs, a server's gallery or
# /personalize's candidates, and never posted to Discord.
UNLISTED_KINDS = frozenset({JobKind.SELECT})
_UNLISTED_SQL = ", ".join(f"'{kind.value}'" for kind in sorted(UNLISTED_KINDS))
# The SQL condition "this job is listed" (the store's archive, gallery and candidates queries).
LISTED_SQL = f"jobs.kind NOT IN ({_UNLISTED_SQL})"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class Speed(StrEnum):
    """Fast jobs always run before relax jobs (Midjourney's --fast / --relax; --turbo counts as fast)."""

    FAST = "fast"
    RELAX = "relax"


def new_job_id() -> str:
    return str(uuid.uuid4())


@dataclass
class NewJob:
    """A submission. `request` is None for variation / reroll / upscale: derived from the parent.

    For variation, reroll, zoom, pan and region a `request` may still be given (remix: the user
    edited the prompt); the service then keeps its prompt and parameters but takes the image from
    the parent. Give `id` to make a submission idempotent (the same id twice returns the first job).

    Editing a single image (`parent_id` + `parent_index`):
    - ZOOM: `mode` is the zoom factor 1–2 (`"2"`, `"1.5"`), optionally with the canvas shape of a
      Custom Zoom (`"1.25 16:9"`), or `"square"` (Make Square).
    - PAN: `mode` is `"left"`, `"right"`, `"up"` or `"down"`.
    - REGION (Vary (Region)): `mask` is a PNG, white = regenerate, any size (scaled to the image);
      stored as `mask.png` in the job's folder.
    """

    kind: JobKind
    user_id: int
    prompt: str = ""
    request: GenerationRequest | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    parent_id: str | None = None
    parent_index: int | None = None
    # "strong" / "subtle" for variation; "subtle" / "creative" for upscale; zoom / pan: see above.
    mode: str | None = None
    speed: str = Speed.FAST.value
    image_urls: list[str] = field(default_factory=list)
    id: str | None = None
    # Free-form JSON the front wants back with the job (e.g. the label of the message).
    meta: dict[str, Any] = field(default_factory=dict)
    # The most jobs this member may have waiting in this server (its /limits), checked by the
    # job service under its submit lock; None: only the bot-wide limit applies.
    waiting_limit: int | None = None
    # Pictures the front already holds for `image_urls` (Discord attachments of /blend,
    # /describe), in the same order; the service downloads only the links without one.
    uploads: list[Any] = field(default_factory=list)
    # The prompt's image links, fetched once for all of its jobs (bot/jobs/prompt_images.py);
    # None: the service fetches this job's links itself.
    prompt_images: PromptImages | None = None
    # Vary (Region): PNG bytes, white = regenerate (any size; scaled to the parent image).
    mask: bytes | None = None


@dataclass
class Job:
    """One unit of GPU work and everything recorded about it."""

    id: str
    kind: JobKind
    status: JobStatus
    user_id: int
    guild_id: int | None
    channel_id: int | None
    prompt: str
    request: dict[str, Any]
    image_urls: list[str] = field(default_factory=list)
    parent_id: str | None = None
    parent_index: int | None = None
    mode: str | None = None
    speed: str = Speed.FAST.value
    seeds: list[int] = field(default_factory=list)
    error: str | None = None
    enqueued_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    gpu_seconds: float = 0.0
    progress_message_id: int | None = None
    result_message_id: int | None = None
    delivered: bool = False
    # How many times a worker started this job (a job that keeps killing the process is failed).
    attempts: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def generation_request(self) -> GenerationRequest:
        return GenerationRequest.from_dict(self.request)


@dataclass(frozen=True)
class JobImage:
    """One stored result image; `path` is absolute (DATA_DIR/images/<job id>/<index>.png)."""

    job_id: str
    index: int
    path: Path
    width: int
    height: int
    seed: int


@dataclass(frozen=True)
class GpuUsage:
    """GPU seconds and job counts of one user, for `/info`."""

    user_id: int
    jobs_today: int
    seconds_today: float
    jobs_total: int
    seconds_total: float


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser (the web app): who, their servers as Discord listed them, the CSRF token."""

    id: str
    user_id: int
    name: str
    guilds: list[dict[str, str]]
    csrf: str
    created_at: float
    expires_at: float

    def guild_ids(self) -> set[int]:
        return {int(guild["id"]) for guild in self.guilds}


@dataclass(frozen=True)
class PendingInteraction:
    """A job-making interaction acknowledged but not answered yet: what a restart needs to finish
    it or answer it while Discord still accepts the interaction's token (15 minutes).

    `command` is the kind of request (`imagine`, `blend`, `button`, `remix`, …), `prompt` its text
    (if any), `details` the rest as JSON (see `arguments`)."""

    id: int
    token: str
    application_id: int
    user_id: int
    guild_id: int | None
    channel_id: int | None
    parent_channel_id: int | None
    command: str
    prompt: str
    upload_limit: int | None
    received_at: float
    details: str = "{}"

    @property
    def arguments(self) -> dict[str, Any]:
        """`details` read back: what else the request asked for (button, job, attachments…)."""
        value = json.loads(self.details or "{}")
        return value if isinstance(value, dict) else {}
