"""Image jobs: references fetched before queueing and stored with the job; blend, describe, shorten."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from bot.engine.family import TINY
from bot.engine.interface import NO_INPUTS, GenerationInputs, Operation
from bot.engine.references import ReferenceKind
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback
from bot.errors import InvalidLink, InvalidParameter
from bot.jobs.events import Finished
from bot.jobs.image_jobs import blend_request, describe_request, shorten_request
from bot.jobs.models import JobKind, JobStatus, NewJob
from tests.jobs.conftest import FakeEngine, ServiceFactory, imagine, make_request, make_settings, outcome

COLOURS = {"red": (220, 20, 20), "blue": (20, 20, 220), "green": (20, 200, 20)}


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path):
    """The picture server is on 127.0.0.1: private links allowed (ALLOW_PRIVATE_LINKS=1)."""
    return make_settings(tmp_path / "data", ALLOW_PRIVATE_LINKS="1")


@pytest.fixture
async def image_server():
    """http://127.0.0.1:<port>/<colour>.png; anything else is 404."""

    async def picture(request: web.Request) -> web.Response:
        colour = COLOURS.get(request.match_info["name"])
        if colour is None:
            raise web.HTTPNotFound()
        return web.Response(body=png(colour), content_type="image/png")

    app = web.Application()
    app.add_routes([web.get("/{name}.png", picture)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@dataclass
class RecordingEngine(FakeEngine):
    """The fake engine, recording reference inputs and answering describe / shorten with text."""

    inputs: list[tuple[Operation, GenerationInputs]] = field(default_factory=list)

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs = NO_INPUTS,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        self.inputs.append((operation, inputs))
        if operation is Operation.DESCRIBE:
            prompts = [f"suggestion {n} from seed {request.seed}" for n in range(1, 5)]
            return GenerationResult([], [], "fake", "", 0, 0.0, details={"prompts": prompts})
        if operation is Operation.SHORTEN:
            return GenerationResult(
                [], [], "fake", "", 0, 0.0, details={"words": [[request.prompt, 1.0]], "shorter": []}
            )
        result = super().generate(operation, request, inputs, on_step)
        if operation is Operation.REFERENCE:
            result.details["method"] = "IP-Adapter"
        return result


@pytest.fixture
def fake_engine() -> RecordingEngine:
    return RecordingEngine()


def blend(urls: list[str], **fields: Any) -> NewJob:
    return NewJob(
        kind=JobKind.BLEND,
        user_id=1,
        prompt=" ".join(urls),
        request=blend_request("square", TINY, seed=3),
        image_urls=urls,
        **fields,
    )


async def nothing_queued(service) -> None:
    assert service.waiting_count == 0
    assert await service.repository.jobs_with_status(JobStatus.QUEUED, JobStatus.RUNNING) == []


@pytest.mark.parametrize("count", [1, 6])
async def test_blend_needs_two_to_five_images(service, image_server: str, count: int) -> None:
    """/blend with 1 or 6 images is refused before anything is queued."""
    with pytest.raises(InvalidParameter, match="2 to 5 images"):
        await service.submit(blend([f"{image_server}/red.png"] * count))
    await nothing_queued(service)


async def test_blend_runs_as_a_reference_job_from_stored_pictures(
    service, services: ServiceFactory, fake_engine: RecordingEngine, image_server: str
) -> None:
    """A two-image blend hands the engine both pictures as image references, also after a restart."""
    job = await service.submit(blend([f"{image_server}/red.png", f"{image_server}/blue.png"]))
    assert isinstance(await outcome(service, job.id), Finished)
    operation, inputs = fake_engine.inputs[-1]
    assert operation is Operation.REFERENCE
    assert [ref.kind for ref in inputs.references] == [ReferenceKind.IMAGE, ReferenceKind.IMAGE]
    assert [ref.image.getpixel((0, 0)) for ref in inputs.references] == [COLOURS["red"], COLOURS["blue"]]
    stored = await service.repository.get_job(job.id)
    assert stored.meta["result"] == {"method": "IP-Adapter"}
    assert len(await service.repository.get_images(job.id)) == 4
    # A later process reads the same pictures from the job's folder (the links are not fetched again).
    await services.close(service)
    again = await services()
    operation, inputs = await again.intake.inputs(stored)
    assert operation is Operation.REFERENCE
    assert [ref.image.getpixel((0, 0)) for ref in inputs.references] == [COLOURS["red"], COLOURS["blue"]]


async def test_reroll_of_a_blend_blends_again(
    service, fake_engine: RecordingEngine, image_server: str
) -> None:
    """🔄 on a blend runs the same references with a new seed."""
    job = await service.submit(blend([f"{image_server}/red.png", f"{image_server}/green.png"]))
    await outcome(service, job.id)
    reroll = await service.submit(NewJob(kind=JobKind.REROLL, user_id=1, parent_id=job.id))
    assert isinstance(await outcome(service, reroll.id), Finished)
    operation, inputs = fake_engine.inputs[-1]
    assert operation is Operation.REFERENCE and len(inputs.references) == 2


def with_references(references: list[dict], image_prompt_scale: float = 0.5) -> GenerationRequest:
    request = make_request("a knight")
    extra = {"references": references, "image_prompt_scale": image_prompt_scale}
    return dataclasses.replace(request, extra=extra)


async def test_bad_character_reference_is_invalid_link_and_nothing_is_queued(
    service, image_server: str
) -> None:
    """`--cref` with a link that does not answer with a picture: `Invalid link`, no job."""
    request = with_references([{"kind": "character", "url": f"{image_server}/missing.png", "scale": 1.0}])
    with pytest.raises(InvalidLink):
        await service.submit(imagine(request=request))
    await nothing_queued(service)


async def test_imagine_references_keep_their_kinds_and_scales(
    service, fake_engine: RecordingEngine, image_server: str
) -> None:
    """Image prompt + --sref + --cref reach the engine as one reference job with per-kind scales."""
    request = with_references(
        [
            {"kind": "style", "url": f"{image_server}/green.png", "scale": 0.8},
            {"kind": "character", "url": f"{image_server}/blue.png", "scale": 0.4},
        ],
        image_prompt_scale=1.0,
    )
    job = await service.submit(imagine(request=request, image_urls=[f"{image_server}/red.png"]))
    assert isinstance(await outcome(service, job.id), Finished)
    operation, inputs = fake_engine.inputs[-1]
    assert operation is Operation.REFERENCE
    seen = [(ref.kind, ref.scale, ref.image.getpixel((0, 0))) for ref in inputs.references]
    assert seen == [
        (ReferenceKind.IMAGE, 1.0, COLOURS["red"]),
        (ReferenceKind.STYLE, 0.8, COLOURS["green"]),
        (ReferenceKind.CHARACTER, 0.4, COLOURS["blue"]),
    ]


async def test_one_image_prompt_without_ip_adapter_stays_img2img(
    service, fake_engine: RecordingEngine, image_server: str
) -> None:
    """Without IP_ADAPTER one image prompt is img2img from input.png, as before."""
    job = await service.submit(imagine(image_urls=[f"{image_server}/red.png"]))
    await outcome(service, job.id)
    assert fake_engine.inputs[-1][0] is Operation.IMG2IMG


async def test_one_image_prompt_with_ip_adapter_is_a_reference(tmp_path, image_server: str) -> None:
    """With IP_ADAPTER set, an image prompt goes through the adapter (scale from --iw)."""
    engine = RecordingEngine()
    factory = ServiceFactory(
        make_settings(tmp_path / "data", IP_ADAPTER="tiny", ALLOW_PRIVATE_LINKS="1"), engine
    )
    try:
        service = await factory()
        request = with_references([], image_prompt_scale=1.5)
        job = await service.submit(imagine(request=request, image_urls=[f"{image_server}/red.png"]))
        await outcome(service, job.id)
        operation, inputs = engine.inputs[-1]
        assert operation is Operation.REFERENCE
        assert [(ref.kind, ref.scale) for ref in inputs.references] == [(ReferenceKind.IMAGE, 1.5)]
    finally:
        await factory.close_all()


async def test_describe_and_shorten_store_their_text_results(
    service, fake_engine: RecordingEngine, image_server: str
) -> None:
    """/describe and /shorten are queued jobs whose results land in the job's meta."""
    described = await service.submit(
        NewJob(
            kind=JobKind.DESCRIBE,
            user_id=1,
            request=describe_request(9),
            image_urls=[f"{image_server}/red.png"],
        )
    )
    shortened = await service.submit(
        NewJob(kind=JobKind.SHORTEN, user_id=1, prompt="x", request=shorten_request("a big cat"))
    )
    assert isinstance(await outcome(service, described.id), Finished)
    assert isinstance(await outcome(service, shortened.id), Finished)
    _, inputs = next(entry for entry in fake_engine.inputs if entry[0] is Operation.DESCRIBE)
    assert inputs.image.getpixel((0, 0)) == COLOURS["red"]
    describe_job = await service.repository.get_job(described.id)
    assert describe_job.meta["result"]["prompts"][1] == "suggestion 2 from seed 9"
    assert (await service.repository.get_job(shortened.id)).meta["result"]["words"] == [["a big cat", 1.0]]
    assert await service.repository.get_images(described.id) == []
