"""Personalization end to end on the tiny engine: profiles from likes and pairs, shared codes,
moodboards, and the job path (`--p` → stored embeddings → the engine's style slot)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bot.config import Config
from bot.engine.family import TINY
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import ReferenceImage, ReferenceKind
from bot.engine.style_codes import style_swatch
from bot.errors import InvalidParameter
from bot.governance.personalization import NoProfile, Personalization
from bot.jobs.image_jobs import load_inputs, prepare_inputs, save_inputs
from bot.jobs.models import JobKind
from bot.prompt import PromptContext, expand_prompt
from bot.store.repository import Repository
from tests.store.test_repository import make_job

CONTEXT = PromptContext(family=TINY)
PICTURES = {f"j{n}": style_swatch(100 + n) for n in range(6)}


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A tiny engine with the tiny IP-Adapter."""
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": "tiny",
            "MODELS_DIR": str(tiny_model_dir.parent),
            "DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "DEVICE": "cpu",
            "IP_ADAPTER": "tiny",
        }
    )
    return load_engine(settings)


@pytest.fixture
async def personal(tmp_path: Path, engine):
    """A store with six archive images of member 1 (jobs j0..j5, image 0) and the service (unlock at 4)."""
    images = tmp_path / "images"
    repository = await Repository.open(tmp_path / "bot.sqlite3", images)
    for job_id, picture in PICTURES.items():
        await repository.insert_job(make_job(job_id, user_id=1))
        (images / job_id).mkdir(parents=True)
        picture.save(images / job_id / "0.png")

    async def embed(pictures):
        refs = tuple(ReferenceImage(ReferenceKind.STYLE, picture, 1.0) for picture in pictures)
        request = expand_prompt("x", CONTEXT)[0].to_generation(seed=0, batch_size=1)
        result = await asyncio.to_thread(
            engine.generate, Operation.STYLE_EMBED, request, GenerationInputs(references=refs)
        )
        return result.details["embeddings"]

    service = Personalization(repository, engine.image_prompts.adapter_id, images, embed, unlock=4)
    yield service
    await repository.close()


async def render(engine, text: str, service: Personalization, user_id: int, pictures=None) -> np.ndarray:
    """Read `text` as admission does (`--p` resolved), prepare and store its inputs as a job, run it."""
    (request,) = await service.apply(expand_prompt(text, CONTEXT), user_id)
    generation = dataclasses.replace(
        request.to_generation(seed=7, batch_size=2), width=64, height=64, steps=3
    )

    async def fetch(url):
        return pictures[url]

    prepared = await prepare_inputs(JobKind.IMAGINE, generation, [], ip_adapter=True, fetch=fetch)
    folder = service.images_dir / f"run-{abs(hash(text))}"
    folder.mkdir(parents=True, exist_ok=True)
    save_inputs(folder, prepared)
    loaded = await load_inputs(make_job("r", meta=prepared.meta({})), folder)
    operation, inputs = loaded if loaded is not None else (Operation.TXT2IMG, GenerationInputs())
    result = await asyncio.to_thread(engine.generate, operation, generation, inputs)
    return np.stack([np.asarray(image, dtype=float) for image in result.images])


async def test_bare_p_without_a_profile_says_how_to_make_one(personal) -> None:
    """`--p` before unlocking answers with what to do and how many signals are missing."""
    await personal.repository.toggle_favourite(1, "j0", 0)
    with pytest.raises(NoProfile, match="3 more to unlock it"):
        await personal.apply(expand_prompt("a cat --p", CONTEXT), 1)
    with pytest.raises(InvalidParameter, match="Unknown profile or moodboard code `zzzzzzz`"):
        await personal.apply(expand_prompt("a cat --p zzzzzzz", CONTEXT), 1)


async def test_profile_from_likes_changes_the_image_deterministically_and_shares_by_code(
    personal, engine
) -> None:
    """Likes + a ranked pair unlock a profile; `--p` changes the image against the same seed, the
    same every time; another member with the code gets exactly the same image."""
    for job_id in ("j0", "j1", "j2"):
        await personal.repository.toggle_favourite(1, job_id, 0)
    assert not (await personal.status(1)).unlocked
    status = await personal.rank(1, ("j3", 0), ("j4", 0))
    assert status.unlocked and status.signals == 4 and len(status.code) == 7
    plain = await render(engine, "a lighthouse", personal, 1)
    mine = await render(engine, "a lighthouse --p", personal, 1)
    again = await render(engine, "a lighthouse --p", personal, 1)
    shared = await render(engine, f"a lighthouse --p {status.code}", personal, 2)
    assert np.abs(mine - plain).mean() > 1.0
    assert np.array_equal(mine, again)
    assert np.array_equal(mine, shared)
    # The same signals give the same code (it derives from the stored embedding, not the member).
    assert (await personal.build_profile(1)).code == status.code


async def test_moodboard_of_three_images_equals_sref_of_the_same_three(personal, engine) -> None:
    """A moodboard's code in `--p` conditions exactly like `--sref` of its three images."""
    links = [f"https://img.example/{job_id}.png" for job_id in ("j0", "j1", "j2")]
    pictures = dict(zip(links, (PICTURES[job_id] for job_id in ("j0", "j1", "j2")), strict=True))
    board = await personal.save_moodboard(1, "seaside", list(pictures.values()), links)
    assert board.code.startswith("m") and board.sources == tuple(links)
    by_board = await render(engine, f"a lighthouse --p {board.code}", personal, 2)
    by_sref = await render(engine, f"a lighthouse --sref {' '.join(links)}", personal, 2, pictures)
    assert np.array_equal(by_board, by_sref)


async def test_embeddings_are_computed_on_the_gpu_worker(engine) -> None:
    """`backend_embedder` runs Operation.STYLE_EMBED as a work order on the backend's worker thread
    and gives the same rows as the engine called directly."""
    from bot.governance.personalization import backend_embedder
    from bot.jobs.backend import ThreadBackend

    backend = ThreadBackend(lambda: engine)
    await backend.start()
    try:
        pictures = [PICTURES["j0"], PICTURES["j1"]]
        rows = await backend_embedder(backend.submit)(pictures)
    finally:
        await backend.stop()
    direct = engine.image_prompts.adapter.image_embeds(pictures).float().tolist()
    assert rows == direct and len(rows) == 2
