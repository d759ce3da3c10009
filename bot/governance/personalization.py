"""Personalization: members' profiles (from ❤️ likes and ranked pairs), moodboards, and `--p`.

- `rank(user, preferred, other)` records a /personalize choice; `build_profile(user)` learns the
  profile once the member has UNLOCK_SIGNALS signals (likes + ranked pairs), stores its vector
  under a code (style_profiles.py) and makes it the member's `--p`.
- `save_moodboard(user, name, pictures, sources)` embeds the pictures in one batch and stores
  the rows under a moodboard code.
- `apply(requests, user)` resolves the `--p` codes of admitted requests to their stored
  embeddings (the member's own profile for a bare `--p`); Admission calls it for every prompt.

Embeddings are computed on the GPU worker (Operation.STYLE_EMBED) through the `embed` callable
the composition root gives (`backend_embedder`); resolving codes only reads the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import ReferenceImage, ReferenceKind
from bot.engine.request import GenerationRequest
from bot.errors import InvalidParameter, JobFailed, UserFacingError
from bot.governance.models import Moodboard, StoredStyle
from bot.governance.style_profiles import (
    UNLOCK_SIGNALS,
    decode_vectors,
    encode_vectors,
    learn_profile,
    style_code,
)
from bot.jobs.execution import WorkDone, WorkFailed, WorkOrder
from bot.prompt import ImagineRequest
from bot.prompt.mapping import weighted_repeats

if TYPE_CHECKING:
    from bot.store.repository import Repository

__all__ = ["Embed", "Moodboard", "NoProfile", "Personalization", "ProfileStatus", "backend_embedder"]

log = logging.getLogger(__name__)

# Pictures → their style embeddings (rows of floats), computed on the GPU worker.
Embed = Callable[[list[Image.Image]], Awaitable[list[list[float]]]]
Image_ = tuple[str, int]  # (job id, image n) in the archive
MAX_MOODBOARD_IMAGES = 20


class NoProfile(UserFacingError):
    title = "No profile yet"


@dataclass(frozen=True)
class ProfileStatus:
    """How far a member is: signals so far, how many unlock a profile, and its code once unlocked."""

    signals: int
    needed: int
    code: str = ""

    @property
    def unlocked(self) -> bool:
        return bool(self.code)

    @property
    def ready(self) -> bool:
        """Enough signals to unlock (the profile exists once the IP-Adapter has learned it)."""
        return self.signals >= self.needed

    @property
    def missing(self) -> int:
        return max(0, self.needed - self.signals)


class Personalization:
    """Profiles, moodboards and `--p` for the members of this bot (one IP-Adapter: `adapter`)."""

    def __init__(
        self,
        repository: Repository,
        adapter: str,
        images_dir: Path,
        embed: Embed | None = None,
        *,
        unlock: int = UNLOCK_SIGNALS,
    ) -> None:
        self.repository = repository
        self.adapter = adapter
        self.images_dir = images_dir
        self.embed = embed
        self.unlock = unlock

    @property
    def enabled(self) -> bool:
        """Whether this bot can personalize at all (it has an IP-Adapter)."""
        return bool(self.adapter)

    # ---- signals and the profile -------------------------------------------------------------

    async def status(self, user_id: int) -> ProfileStatus:
        """Signals (likes + ranked pairs) so far and the member's profile code, if unlocked."""
        signals = len(await self.repository.liked_images(user_id)) + len(
            await self.repository.style_pairs(user_id)
        )
        profile = await self.repository.member_profile(user_id)
        return ProfileStatus(signals, self.unlock, profile[0] if profile else "")

    async def rank(self, user_id: int, preferred: Image_, other: Image_) -> ProfileStatus:
        """Record that the member preferred one archive image over the other; rebuild when unlocked."""
        if preferred == other:
            raise InvalidParameter("Pick one of two different images.")
        await self.repository.add_style_pair(user_id, preferred, other)
        return await self.build_profile(user_id)

    async def build_profile(self, user_id: int) -> ProfileStatus:
        """Learn the member's profile from every like and ranked pair (once unlocked) and store it."""
        liked = await self.repository.liked_images(user_id)
        pairs = await self.repository.style_pairs(user_id)
        signals = len(liked) + len(pairs)
        if signals < self.unlock or self.embed is None or not self.adapter:
            return await self.status(user_id)  # not unlocked yet, or no IP-Adapter to learn with
        vectors = await self._archive_embeddings([*liked, *(image for pair in pairs for image in pair)])
        profile = learn_profile(
            [vectors[image] for image in liked], [(vectors[a], vectors[b]) for a, b in pairs]
        )[None]
        code = await self._store("profile", profile)
        await self.repository.set_member_profile(user_id, code, signals)
        return ProfileStatus(signals, self.unlock, code)

    async def next_pair(self, user_id: int, skip: int = 0) -> tuple[Image_, Image_] | None:
        """Two of the member's archive images not ranked against each other yet (None: too few).

        Chosen by a generator seeded with the member, their pairs so far and `skip`, so a reload
        shows the same pair and Skip shows another.
        """
        candidates = await self.repository.style_candidates(user_id)
        if len(candidates) < 2:
            return None
        pairs = await self.repository.style_pairs(user_id)
        ranked = {frozenset(pair) for pair in pairs}
        chooser = random.Random(f"{user_id}:{len(pairs)}:{skip}")
        for _ in range(64):
            first, second = chooser.sample(candidates, 2)
            if frozenset((first, second)) not in ranked:
                return first, second
        return None

    # ---- moodboards ----------------------------------------------------------------------------

    async def archive_images(self, user_id: int, limit: int = 24) -> list[Image_]:
        """The member's newest archive images (job id, n), to pick moodboard images from."""
        return await self.repository.style_candidates(user_id, limit)

    async def moodboards(self, user_id: int) -> list[Moodboard]:
        """The member's moodboards, by name."""
        return await self.repository.moodboards(user_id)

    async def delete_moodboard(self, user_id: int, name: str) -> bool:
        """Delete the member's moodboard `name` (its code keeps working for those who have it)."""
        return await self.repository.delete_moodboard(user_id, name)

    async def moodboard_from_archive(self, user_id: int, name: str, images: Sequence[Image_]) -> Moodboard:
        """A moodboard of the member's own archive images (job id, n)."""
        mine = set(await self.repository.style_candidates(user_id, limit=10_000))
        if not images or any(image not in mine for image in images):
            raise InvalidParameter("Pick one or more images of your own archive for the moodboard.")
        pictures = await asyncio.gather(*(asyncio.to_thread(self._open, image) for image in images))
        sources = [f"job:{job_id}/{index}" for job_id, index in images]
        return await self.save_moodboard(user_id, name, pictures, sources)

    async def save_moodboard(
        self, user_id: int, name: str, pictures: Sequence[Image.Image], sources: Sequence[str]
    ) -> Moodboard:
        """Create (or replace) the member's moodboard `name` from these pictures; its code is new."""
        name = " ".join(name.split())[:60]
        if not name:
            raise InvalidParameter("A moodboard needs a name.")
        if not 1 <= len(pictures) <= MAX_MOODBOARD_IMAGES:
            raise InvalidParameter(
                f"A moodboard holds 1 to {MAX_MOODBOARD_IMAGES} images, not {len(pictures)}."
            )
        rows = np.asarray(await self._embed(list(pictures)), dtype=np.float32)
        code = await self._store("moodboard", rows)
        return await self.repository.save_moodboard(user_id, name, list(sources), code)

    # ---- `--p` ---------------------------------------------------------------------------------

    async def apply(self, requests: Sequence[ImagineRequest], user_id: int) -> list[ImagineRequest]:
        """The requests with their `--p` codes resolved to stored embeddings (others unchanged).

        Raises NoProfile for a bare `--p` from a member without a profile (saying how to make
        one) and InvalidParameter for an unknown code or one made with another adapter.
        """
        resolved: dict[tuple[tuple[str, float], ...], tuple[tuple[float, ...], ...]] = {}
        out = []
        for request in requests:
            if not request.profiles:
                out.append(request)
                continue
            if request.profiles not in resolved:
                resolved[request.profiles] = await self._rows_for(request.profiles, user_id)
            # The recipe records the codes used: a bare `--p` becomes the member's own code.
            profiles = request.profiles
            if any(not code for code, _weight in profiles):
                own = await self.own_code(user_id)
                profiles = tuple((code or own, weight) for code, weight in profiles)
            out.append(replace(request, profiles=profiles, profile_embeddings=resolved[request.profiles]))
        return out

    async def _rows_for(
        self, profiles: tuple[tuple[str, float], ...], user_id: int
    ) -> tuple[tuple[float, ...], ...]:
        if not self.adapter:
            raise InvalidParameter("`--p` needs the IP-Adapter, and this bot has none set up (IP_ADAPTER).")
        rows: list[tuple[float, ...]] = []
        for code, weight in profiles:
            if not code:
                code = await self.own_code(user_id)
            style = await self.repository.style_for_code(code)
            if style is None:
                raise InvalidParameter(f"Unknown profile or moodboard code `{code}` (`--p`).")
            if style.adapter != self.adapter:
                raise InvalidParameter(
                    f"The code `{code}` was made with another IP-Adapter than this bot's, so it would not "
                    "give the same style here."
                )
            vectors = [tuple(float(v) for v in row) for row in decode_vectors(style.vectors, style.dim)]
            rows.extend(row for row in vectors for _ in range(weighted_repeats(weight)))
        return tuple(rows)

    async def own_code(self, user_id: int) -> str:
        """The member's profile code; NoProfile (saying how to make one) when not unlocked."""
        status = await self.status(user_id)
        if status.unlocked:
            return status.code
        raise NoProfile(
            "You have no personalization profile yet. Like images (❤️) or rank pairs on the web app's "
            f"/personalize page: {status.missing} more to unlock it ({status.needed} in all). "
            "Or use someone's code: `--p CODE`."
        )

    # ---- embeddings ----------------------------------------------------------------------------

    async def _embed(self, pictures: list[Image.Image]) -> list[list[float]]:
        if self.embed is None or not self.adapter:
            raise InvalidParameter(
                "Personalization needs the IP-Adapter, and this bot has none set up (IP_ADAPTER)."
            )
        return await self.embed(pictures)

    async def _archive_embeddings(self, images: list[Image_]) -> dict[Image_, np.ndarray]:
        """Embeddings of archive images: stored ones reused, the rest computed in one batch and stored."""
        found: dict[Image_, np.ndarray] = {}
        for image in dict.fromkeys(images):
            stored = await self.repository.style_embedding(image[0], image[1], self.adapter)
            if stored is not None:
                found[image] = decode_vectors(stored[1], stored[0])[0]
        missing = [image for image in dict.fromkeys(images) if image not in found]
        if missing:
            pictures = await asyncio.gather(*(asyncio.to_thread(self._open, image) for image in missing))
            rows = np.asarray(await self._embed(list(pictures)), dtype=np.float32)
            for image, row in zip(missing, rows, strict=True):
                await self.repository.save_style_embedding(
                    image[0], image[1], self.adapter, row.shape[0], encode_vectors(row)
                )
                found[image] = row
        return found

    def _open(self, image: Image_) -> Image.Image:
        path = self.images_dir / image[0] / f"{image[1]}.png"
        try:
            with Image.open(path) as picture:
                return picture.convert("RGB")
        except OSError:
            raise InvalidParameter(f"Image {image[1] + 1} of job {image[0]} is no longer on disk.") from None

    async def _store(self, kind: str, rows: np.ndarray) -> str:
        code = style_code(kind, self.adapter, rows)
        await self.repository.save_style(
            StoredStyle(code, kind, self.adapter, int(rows.shape[1]), encode_vectors(rows))
        )
        return code


def backend_embedder(submit: Callable[[Any], Any]) -> Embed:
    """An `Embed` that runs Operation.STYLE_EMBED on the GPU worker through a backend's `submit`."""

    async def embed(pictures: list[Image.Image]) -> list[list[float]]:
        refs = tuple(ReferenceImage(ReferenceKind.STYLE, picture, 1.0) for picture in pictures)
        request = GenerationRequest(prompt="", width=64, height=64, seed=0, steps=1, batch_size=1)
        order = WorkOrder(
            job_id=f"style-embed-{uuid.uuid4()}",
            operation=Operation.STYLE_EMBED,
            request=request,
            inputs=GenerationInputs(references=refs),
            previews=False,
        )
        async for event in submit(order):
            if isinstance(event, WorkDone):
                return [list(row) for row in event.result.details["embeddings"]]
            if isinstance(event, WorkFailed):
                raise JobFailed(f"The style embeddings could not be computed: {event.message}")
        raise JobFailed("The style embeddings could not be computed.")

    return embed
