"""`--sref CODE` jobs: the code's swatch is the stored style picture; nothing is downloaded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot.engine.interface import Operation
from bot.engine.references import ReferenceKind
from bot.engine.style_codes import style_swatch
from bot.jobs.events import Finished
from tests.jobs.conftest import imagine, make_request, outcome
from tests.jobs.test_image_jobs import RecordingEngine


@pytest.fixture
def fake_engine() -> RecordingEngine:
    return RecordingEngine()


async def test_style_code_reference_reaches_the_engine_as_its_swatch(
    service, fake_engine: RecordingEngine
) -> None:
    """A job with `--sref 2891766437` gives the engine that code's swatch in the style slot."""

    async def no_downloads(url: str):
        raise AssertionError(f"downloaded {url}")

    refs = [
        {"kind": "style", "url": "", "scale": 0.8, "code": 2891766437},
        {"kind": "style", "url": "", "scale": 0.8, "code": 7},
    ]
    request = dataclasses.replace(make_request("a knight"), extra={"references": refs})
    job = await service.submit(imagine(request=request))
    assert isinstance(await outcome(service, job.id), Finished)
    operation, inputs = fake_engine.inputs[-1]
    assert operation is Operation.REFERENCE
    assert [(ref.kind, ref.scale) for ref in inputs.references] == [(ReferenceKind.STYLE, 0.8)] * 2
    for ref, code in zip(inputs.references, (2891766437, 7), strict=True):
        assert np.array_equal(np.asarray(ref.image), np.asarray(style_swatch(code)))
