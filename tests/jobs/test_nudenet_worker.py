"""NudeNet's real detector as the GPU worker's NSFW checker: loaded once, when the worker starts,
and none of scikit-image's safe photographs is flagged; the class table decides; a detector that
cannot load is said once, at start, however many jobs run."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.engine.nudenet import FLAGGED_CLASSES, NUDENET_LABELS, NudeNetChecker, detections, nudenet_model_path
from bot.engine.request import GenerationRequest, GenerationResult
from bot.engine.safety_checker import UnavailableChecker, load_safety_checker
from bot.jobs.events import Finished
from tests.jobs.conftest import FakeEngine, imagine, make_settings, outcome
from tests.jobs.test_nsfw_worker import close, open_service

skimage_data = pytest.importorskip("skimage.data")
needs_nudenet = pytest.mark.skipif(nudenet_model_path() is None, reason="needs the realweights extra")

SAFE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "cat", "camera", "immunohistochemistry", "horse")


@dataclasses.dataclass
class PhotoEngine(FakeEngine):
    """Answers every request with real photographs (4 per job, in turn)."""

    served: int = 0

    def _run(self, operation: str, request: GenerationRequest, image: Any, on_step: Any) -> GenerationResult:
        result = super()._run(operation, request, image, on_step)
        photos = []
        for _ in result.images:
            name = SAFE_PHOTOS[self.served % len(SAFE_PHOTOS)]
            self.served += 1
            photos.append(Image.fromarray(np.asarray(getattr(skimage_data, name)())).convert("RGB"))
        return dataclasses.replace(result, images=photos)


@needs_nudenet
async def test_nudenet_in_the_worker_flags_none_of_the_safe_photos(tmp_path: Path) -> None:
    """Two jobs of four real photos each, screened by NudeNet on the worker: 0 of 8 flagged.
    The detector does see them (the astronaut's face is found)."""
    settings = make_settings(tmp_path / "data", NSFW_FILTER="block", NSFW_CHECKER="nudenet")
    checker = load_safety_checker(settings)
    assert isinstance(checker, NudeNetChecker) and checker.loads == 1  # loaded at the worker's start
    service = await open_service(settings, PhotoEngine(), lambda: checker)
    try:
        await service.start()
        jobs = [await service.submit(imagine(prompt=f"photo {n}")) for n in range(2)]
        for job in jobs:
            assert isinstance(await outcome(service, job.id), Finished)
        stored = [await service.repository.get_job(job.id) for job in jobs]
    finally:
        await close(service)
    assert [job.meta["nsfw"] for job in stored] == [[False] * 4, [False] * 4]
    assert checker.loads == 1
    faces = checker.detect([Image.fromarray(skimage_data.astronaut())])[0]
    assert any(found.label == "FACE_FEMALE" and found.score > 0.5 for found in faces)


def raw_output(label: str, score: float) -> np.ndarray:
    """A detector output with one anchor holding `label` at `score` (and 2099 empty anchors)."""
    output = np.zeros((4 + len(NUDENET_LABELS), 2100), dtype=np.float32)
    output[:4, 0] = (100, 100, 40, 40)
    output[4 + NUDENET_LABELS.index(label), 0] = score
    return output


@pytest.mark.parametrize("label", NUDENET_LABELS)
def test_the_class_table_decides_what_flags(label):
    """Every class the detector knows is in the table; a confident detection flags exactly the
    classes marked True there, and a weak one (below 0.5) flags nothing."""
    (strong,) = detections(raw_output(label, 0.9))
    assert strong.label == label and strong.flags is FLAGGED_CLASSES[label]
    (weak,) = detections(raw_output(label, 0.3))
    assert not weak.flags


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="needs onnxruntime")
async def test_a_detector_that_cannot_load_is_said_once_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """NudeNet's file is there but broken: one log line when the worker starts (naming the file and
    what NSFW_NO_VERDICT does with the images), none for the three jobs that follow, which finish
    with no verdict."""
    import bot.engine.nudenet as nudenet

    broken = tmp_path / "320n.onnx"
    broken.write_bytes(b"not an onnx model")
    monkeypatch.setattr(nudenet, "nudenet_model_path", lambda: broken)
    settings = make_settings(tmp_path / "data", NSFW_FILTER="block", NSFW_CHECKER="nudenet")
    service = await open_service(settings, FakeEngine(), lambda: load_safety_checker(settings))
    try:
        with caplog.at_level(logging.INFO):
            await service.start()
            jobs = [await service.submit(imagine(prompt=f"photo {n}")) for n in range(3)]
            for job in jobs:
                assert isinstance(await outcome(service, job.id), Finished)
        stored = [await service.repository.get_job(job.id) for job in jobs]
    finally:
        await close(service)
    assert isinstance(service.backend._checker, UnavailableChecker)
    assert all("nsfw" not in job.meta for job in stored)
    said = [r for r in caplog.records if "NSFW" in r.getMessage() or "nsfw" in r.getMessage().lower()]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert said[0].levelno == logging.ERROR
    assert str(broken) in said[0].getMessage()
    assert "NSFW_NO_VERDICT=flag treats them as flagged" in said[0].getMessage()


class SeenImages:
    """Wraps a checker and keeps the pictures it was asked about (the worker's, in order)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[bytes] = []

    def check(self, images: Any) -> list[bool]:
        self.seen += [image.convert("RGB").tobytes() for image in images]
        return self.inner.check(images)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tiny-sd3", "tiny-flux"])
@pytest.mark.parametrize("kind", ["nudenet", "safety-checker"])
async def test_sd3_and_flux_jobs_are_screened_in_the_worker(
    kind: str, model: str, tmp_path: Path, tiny_flow_engines: Any
) -> None:
    """NSFW_FILTER on with the new families: a grid and its V (img2img) are each screened on the
    worker, the checker sees exactly the pictures stored, and the verdicts are kept with each job.
    NudeNet (real weights) flags none of the tiny models' noise; the tiny safety checker that
    flags everything flags all four of each."""
    from bot.jobs.models import JobKind, NewJob
    from tests.jobs.conftest import make_request
    from tests.tiny_checker import build_tiny_checker

    if kind == "nudenet" and nudenet_model_path() is None:
        pytest.skip("needs the realweights extra")
    nsfw = {"NSFW_FILTER": "block", "NSFW_CHECKER": kind}
    if kind == "safety-checker":
        nsfw["NSFW_MODEL"] = str(build_tiny_checker(tmp_path / "checker", -1.0))
    settings = make_settings(tmp_path / "data", MODEL=model, **nsfw)
    checker = SeenImages(load_safety_checker(settings))
    engine = tiny_flow_engines(model)
    service = await open_service(settings, engine, lambda: checker)
    try:
        await service.start()
        grid = await service.submit(imagine(prompt="a lighthouse", request=make_request("a lighthouse")))
        assert isinstance(await outcome(service, grid.id), Finished)
        varied = await service.submit(
            NewJob(kind=JobKind.VARIATION, user_id=1, parent_id=grid.id, parent_index=0, mode="subtle")
        )
        assert isinstance(await outcome(service, varied.id), Finished)
        stored = [await service.repository.get_job(job.id) for job in (grid, varied)]
        stored_images = [
            image for job in (grid, varied) for image in await service.repository.get_images(job.id)
        ]
    finally:
        await close(service)
    pictures = []
    for image in stored_images:
        with Image.open(image.path) as picture:
            pictures.append(picture.convert("RGB").tobytes())
    assert engine.family.name == model
    expected = [kind == "safety-checker"] * 4
    assert [job.meta["nsfw"] for job in stored] == [expected, expected]
    assert checker.seen == pictures and len(pictures) == 8
