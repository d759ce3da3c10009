"""What an operation needs, checked before its job is queued: a /describe job must never hold the
GPU queue while its models download (or fail to).

`ModelNeeds.check(kind)` runs on the event loop, before admission queues the job. /describe needs
DESCRIBE_MODEL and DESCRIBE_CLIP on this machine: a folder, the embedded `tiny` models, or a
Hugging Face repo already in the local cache. A repo that is not is downloaded here, off the GPU
queue (one download at a time; the member waits, the queue runs on). A download that failed is
remembered: later requests get the same answer at once instead of trying again. Members read a
sentence naming the setting; the reason goes to the operator's log only. An Edit with
INSTRUCT_MODEL set (an InstructPix2Pix pipeline, not the loaded model) is checked the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from bot.config import Config
from bot.engine.instruct_pix2pix import instruct_model_problem
from bot.errors import UserFacingError
from bot.jobs.models import JobKind

__all__ = ["ModelNeeds", "NotSetUp", "on_this_machine"]

log = logging.getLogger(__name__)

# The files transformers reads for a captioner or CLIP (no duplicate .bin weights, no TF/Flax).
_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]
PIPELINE = "model_index.json"  # what every diffusers pipeline folder has


class NotSetUp(UserFacingError):
    title = "Not available"


def on_this_machine(name: str, models_dir: Path, marker: str = "config.json") -> bool:
    """True if the model `name` can be loaded without a download (`marker`: a file every copy of
    it has, `model_index.json` for a diffusers pipeline)."""
    if name.strip().lower() == "tiny":
        return True
    for folder in (Path(name).expanduser(), models_dir / name):
        if folder.is_dir():
            return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, marker), str)
    except Exception:  # not a repo id either
        return False


def _download(name: str) -> None:
    from huggingface_hub import snapshot_download

    snapshot_download(name, allow_patterns=_FILES)


class ModelNeeds:
    """Checks the models an operation needs before its job is queued (see the module docstring)."""

    def __init__(self, settings: Callable[[], Config], download: Callable[[str], None] = _download) -> None:
        self._settings = settings
        self._download = download
        self._ready: set[str] = set()
        self._failed: dict[str, str] = {}  # model name → what members are told
        self._lock = asyncio.Lock()

    async def check(self, kind: JobKind) -> None:
        """Raise NotSetUp if `kind` cannot run on this bot now."""
        if kind is JobKind.INSTRUCT and (name := self._settings().instruct_model.strip()):
            # INSTRUCT_MODEL (InstructPix2Pix): a repo not on this machine is downloaded here,
            # off the GPU queue, once (a failure is remembered); empty: LEDITS++, nothing to fetch.
            await self._present(("INSTRUCT_MODEL", name), self._settings().models_dir, "Edit", PIPELINE)
            if problem := instruct_model_problem(name, self._settings().models_dir):  # now in the cache
                raise NotSetUp(problem)
        if kind is JobKind.DESCRIBE:
            settings = self._settings()
            if not settings.describe_model.strip():
                raise NotSetUp(
                    "Describe is not set up on this bot: DESCRIBE_MODEL is empty "
                    "(its operator can set it to a captioner folder, a Hugging Face model or `tiny`)."
                )
            await self._present(("DESCRIBE_MODEL", settings.describe_model), settings.models_dir)
            await self._present(("DESCRIBE_CLIP", settings.describe_clip), settings.models_dir)

    async def _present(
        self, named: tuple[str, str], models_dir: Path, feature: str = "Describe", marker: str = "config.json"
    ) -> None:
        setting, name = named[0], named[1].strip()
        if name in self._ready:
            return
        if name in self._failed:
            raise NotSetUp(self._failed[name])
        async with self._lock:  # one download at a time; the others then find it ready (or failed)
            if name in self._failed:
                raise NotSetUp(self._failed[name])
            if name in self._ready or await asyncio.to_thread(on_this_machine, name, models_dir, marker):
                self._ready.add(name)
                return
            log.info("downloading %s=%s for %s (off the GPU queue)", setting, name, feature)
            try:
                await asyncio.to_thread(self._download, name)
            except Exception as error:
                log.warning("%s is off: %s=%s could not be downloaded: %s", feature, setting, name, error)
                self._failed[name] = _not_set_up(
                    setting, name, "is not on this machine and could not be downloaded", feature
                )
                raise NotSetUp(self._failed[name]) from None
            self._ready.add(name)


def _not_set_up(setting: str, name: str, what: str, feature: str = "Describe") -> str:
    return (
        f"{feature} is not set up on this bot: {setting} `{name}` {what}. "
        "Its operator can put the model in a folder and point the setting at it."
    )
