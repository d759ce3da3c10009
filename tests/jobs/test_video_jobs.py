"""Video jobs through the job system on the tiny video model: --video, Animate, Extend, ❌, MP4s."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bot.engine.video_spec import VIDEO_KEY
from bot.errors import InvalidParameter, JobFailed
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Cancelled, Finished, Progress
from bot.jobs.models import JobKind, NewJob
from bot.jobs.service import JobService
from bot.jobs.video_files import read_frames, read_recipe, write_mp4
from bot.jobs.video_jobs import clip_path
from bot.prompt import PromptContext, expand_prompt
from bot.store.repository import Repository
from tests.jobs.conftest import imagine, make_request, make_settings, outcome
from tests.jobs.test_crash import worker

pytestmark = pytest.mark.slow

LINK = "https://example.com/start.png"
VIDEO = {"VIDEO_FRAMES": "5", "VIDEO_STEPS": "2", "VIDEO_EXTEND_FRAMES": "4", "VIDEO_FPS": "8"}


def gradient(flip: bool = False) -> Image.Image:
    """A smooth picture (H.264 keeps it nearly exact, unlike noise)."""
    picture = Image.linear_gradient("L").resize((64, 64))
    picture = picture.transpose(Image.Transpose.ROTATE_90) if flip else picture
    return Image.merge("RGB", (picture, picture.transpose(Image.Transpose.FLIP_TOP_BOTTOM), picture))


def close(a: Image.Image, b: Image.Image, tolerance: float = 6.0) -> bool:
    """Mean absolute pixel difference under `tolerance` (of 255): equal up to H.264's losses."""
    pa, pb = (np.asarray(x.convert("RGB").resize((64, 64)), dtype=np.float32) for x in (a, b))
    return float(np.abs(pa - pb).mean()) < tolerance


class Stepping:
    """The tiny engine with a pause after each step, counting the steps run."""

    def __init__(self, engine, seconds: float = 0.0) -> None:
        self._engine, self.seconds, self.steps = engine, seconds, 0
        self.family, self.model_name = engine.family, engine.model_name
        self.stepped = threading.Event()

    def generate(self, operation, request, inputs=None, on_step=None):
        def callback(progress):
            self.steps += 1
            self.stepped.set()
            threading.Event().wait(self.seconds)
            if on_step is not None:
                on_step(progress)

        return self._engine.generate(operation, request, inputs, callback)

    def free_memory(self) -> None:
        self._engine.free_memory()


@pytest.fixture
async def video_service(tmp_path: Path, tiny_engine, tiny_settings):
    engine = Stepping(tiny_engine)
    settings = make_settings(tmp_path / "data", MODELS_DIR=str(tiny_settings.models_dir), **VIDEO)
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(lambda: engine))
    service.engine = engine  # for the tests
    await service.start()
    yield service
    await service.stop(5)
    await repository.close()


def prompt_job(text: str, *uploads: Image.Image) -> NewJob:
    (request,) = expand_prompt(text, PromptContext())
    return NewJob(
        kind=JobKind.IMAGINE,
        user_id=1,
        prompt=text,
        request=request.to_generation(seed=11),
        image_urls=list(request.image_urls),
        uploads=list(uploads),
    )


async def test_video_prompt_animate_and_extend(video_service: JobService, tiny_settings) -> None:
    """--video --loop makes --bs MP4s that start on the image and loop; Animate --end reaches the end
    image; Extend keeps the clip's frames and adds VIDEO_EXTEND_FRAMES; every MP4 decodes and fits."""
    start, end = gradient(), gradient(flip=True)
    job = await video_service.submit(prompt_job(f"{LINK} a fox --video --loop --bs 2 --motion high", start))
    done = await outcome(video_service, job.id)
    assert isinstance(done, Finished) and len(done.images) == 2
    folder = video_service.job_folder(job.id)
    for n in range(2):
        path = clip_path(folder, n)
        assert path.stat().st_size <= 10 * 2**20
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
            assert stream.average_rate == 8
        frames = read_frames(path)
        assert len(frames) == 5
        assert close(frames[0], start) and close(frames[-1], frames[0])  # starts on the image, loops
        recipe = read_recipe(path)
        assert recipe["motion"] == "high" and recipe["fps"] == 8 and recipe["frames"] == 5
        assert recipe["seed"] == 11 + n and recipe["model"] == "tiny-video" and recipe["prompt"] == "a fox"
    assert close(Image.open(done.images[0].path), start)  # the poster is the first frame

    animate = NewJob(
        kind=JobKind.ANIMATE,
        user_id=1,
        parent_id=job.id,
        parent_index=1,
        mode="low",
        uploads=[end],
    )
    with pytest.raises(InvalidParameter, match="already a video"):
        await video_service.submit(animate)
    grid = await outcome(video_service, (await video_service.submit(imagine(1, "a fox"))).id)
    picture = Image.open(grid.images[2].path).convert("RGB")
    extra = {VIDEO_KEY: {"end": "upload", "batch": 1}}
    animate.parent_id, animate.parent_index = grid.job.id, 2
    animate.request = make_request("a fox walks", steps=2)
    animate.request.extra.update(extra)
    animated = await outcome(video_service, (await video_service.submit(animate)).id)
    assert isinstance(animated, Finished) and len(animated.images) == 1
    clip = read_frames(clip_path(video_service.job_folder(animated.job.id), 0))
    assert close(clip[0], picture, 12) and close(clip[-1], end) and not close(clip[-1], clip[0])
    assert read_recipe(clip_path(video_service.job_folder(animated.job.id), 0))["prompt"] == "a fox walks"

    extend = NewJob(kind=JobKind.EXTEND, user_id=1, parent_id=job.id, parent_index=1, mode="low")
    extended = await outcome(video_service, (await video_service.submit(extend)).id)
    assert isinstance(extended, Finished) and len(extended.images) == 2
    original = read_frames(clip_path(folder, 1))
    longer = read_frames(clip_path(video_service.job_folder(extended.job.id), 0))
    assert len(longer) == 5 + 4
    assert all(close(a, b) for a, b in zip(original, longer, strict=False))


async def test_cancel_mid_video_stops_within_one_step(video_service: JobService) -> None:
    """❌ while a clip renders: the job is cancelled and at most one more step runs."""
    engine = video_service.engine
    engine.seconds = 0.3
    job = await video_service.submit(prompt_job(f"{LINK} a fox --video --bs 4", gradient()))
    await asyncio.to_thread(engine.stepped.wait, 60)
    await video_service.cancel(job.id, user_id=1)
    at_cancel = engine.steps
    assert isinstance(await outcome(video_service, job.id), Cancelled)
    assert engine.steps - at_cancel <= 1
    assert not clip_path(video_service.job_folder(job.id), 0).exists()


async def test_progress_is_reported_for_video(video_service: JobService) -> None:
    """A video job streams progress across its clips' steps."""
    job = await video_service.submit(prompt_job(f"{LINK} a fox --video --bs 2", gradient()))
    events = [event async for event in video_service.subscribe(job.id)]
    steps = [event.step for event in events if isinstance(event, Progress)]
    assert steps and max(steps) == 4 and isinstance(events[-1], Finished)


def test_mp4_is_fitted_under_the_limit_or_refused(tmp_path: Path) -> None:
    """A clip over the limit is encoded again smaller; one that cannot fit fails with a message."""
    rng = np.random.default_rng(0)
    noise = [Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)) for _ in range(9)]
    roomy = write_mp4(tmp_path / "a.mp4", noise, 8, {"prompt": "x"}, 10 * 2**20)
    fitted = write_mp4(tmp_path / "b.mp4", noise, 8, {"prompt": "x"}, roomy.bytes // 3)
    assert fitted.bytes <= roomy.bytes // 3 and fitted.crf > roomy.crf
    assert len(read_frames(fitted.path)) == 9
    with pytest.raises(JobFailed, match="does not fit"):
        write_mp4(tmp_path / "c.mp4", noise, 8, {"prompt": "x"}, 500)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]  # no temporaries left


def test_sigkill_mid_video_then_restart_delivers_once(tmp_path: Path, tiny_model_dir: Path) -> None:
    """kill -9 while a video job runs; the next process renders and delivers it exactly once."""
    data_dir, deliveries = tmp_path / "data", tmp_path / "deliveries.txt"
    first = worker(data_dir, tiny_model_dir.parent, deliveries, "--video", "1", "--step-seconds", "1")
    submitted: list[str] = []
    try:
        for line in first.stdout:
            kind, job_id = line.split()
            if kind == "submitted":
                submitted.append(job_id)
            else:
                break
        for _ in range(600):  # until the job is marked running (a follower may hear Started early)
            with sqlite3.connect(data_dir / "bot.sqlite3") as db:
                if db.execute("SELECT status FROM jobs").fetchall() == [("running",)]:
                    break
            time.sleep(0.1)
        time.sleep(1.5)  # into the clip's steps
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        assert db.execute("SELECT status FROM jobs").fetchall() == [("running",)]
    second = worker(data_dir, tiny_model_dir.parent, deliveries)
    assert second.wait(300) == 0, (tmp_path / "worker-1.log").read_text()[-3000:]
    assert deliveries.read_text().split("\n")[:-1] == [f"{submitted[0]} done 2"]
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        assert db.execute("SELECT status, delivered, attempts FROM jobs").fetchall() == [("done", 1, 2)]
    for n in range(2):
        assert len(read_frames(data_dir / "images" / submitted[0] / f"{n}.mp4")) == 5
