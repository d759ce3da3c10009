"""Retexture and Edit jobs in the job service (fake engine): their operation and input image."""

from __future__ import annotations

from PIL import Image

from bot.engine.family import TINY
from bot.engine.interface import Operation
from bot.governance.admission import Admission, Place
from bot.jobs.events import Finished
from bot.jobs.models import JobKind
from bot.prompt import PromptContext, expand_prompt
from tests.jobs.conftest import outcome

LINK = "https://cdn.example/photo.png"


async def test_an_edit_link_prompt_edits_the_linked_picture(service, fake_engine):
    """`blue fur --edit <link>` makes an INSTRUCT job with no parent; the engine edits the fetched
    picture (scaled to the job's size) by the prompt."""
    (request,) = expand_prompt(f"blue fur --edit {LINK} --q .25", PromptContext(family=TINY))
    (new_job,) = Admission.imagine_jobs([request], Place(7))
    assert new_job.kind is JobKind.INSTRUCT and new_job.image_urls == [LINK]
    picture = Image.new("RGB", (96, 96), (250, 10, 10))
    new_job.uploads = [picture]
    job = await service.submit(new_job)
    assert isinstance(await outcome(service, job.id), Finished)
    (call,) = fake_engine.calls
    assert call.operation == str(Operation.INSTRUCT) and call.request.prompt == "blue fur"
    assert call.image is not None and call.image.getpixel((5, 5)) == (250, 10, 10)
