"""Subprocess for test_prompt_images: five members each /imagine one huge-pixel link --repeat 5.

argv: PNG_PATH DATA_DIR. Prints one JSON line: downloads, server hits, input files per prompt
(distinct inodes), their sizes and the peak memory (ru_maxrss) before and after, in MiB.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

from aiohttp import web

from bot.engine.request import GenerationRequest
from bot.jobs.backend import ThreadBackend
from bot.jobs.models import JobKind, NewJob
from bot.jobs.prompt_images import PromptImages
from bot.jobs.service import INPUT_FILE, JobService
from bot.store.repository import Repository
from tests.jobs.conftest import FakeEngine, make_settings, outcome

USERS = 5
REPEAT = 5
SIZE = 512  # the model's working size in this run


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(body: bytes, data_dir: Path) -> None:
    hits: list[str] = []

    async def huge(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=body, content_type="image/png")

    app = web.Application()
    app.router.add_get("/huge.png", huge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/huge.png"

    settings = make_settings(data_dir, ALLOW_PRIVATE_LINKS="1")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    engine = FakeEngine()
    service = JobService(settings, repository, ThreadBackend(lambda: engine))
    await service.start()
    before = peak_mib()

    async def member(user_id: int) -> list[str]:
        """What the Discord front does for one /imagine with --repeat 5."""
        images = PromptImages()
        ids = []
        for n in range(REPEAT):
            request = GenerationRequest(prompt=f"a cat {user_id}", width=SIZE, height=SIZE, seed=n, steps=1)
            job = await service.submit(
                NewJob(
                    kind=JobKind.IMAGINE,
                    user_id=user_id,
                    prompt=request.prompt,
                    request=request,
                    image_urls=[url],
                    prompt_images=images,
                )
            )
            ids.append(job.id)
        return ids

    prompts = await asyncio.gather(*(member(user) for user in range(1, USERS + 1)))
    for ids in prompts:
        for job_id in ids:
            await outcome(service, job_id)
    after = peak_mib()
    inputs = [[service.job_folder(job_id) / INPUT_FILE for job_id in ids] for ids in prompts]
    report = {
        "downloads": service.image_links.downloads,
        "hits": len(hits),
        "inodes_per_prompt": [len({path.stat().st_ino for path in paths}) for paths in inputs],
        "input_sizes": sorted({engine_call.image.size for engine_call in engine.calls}),
        "input_bytes": max(path.stat().st_size for paths in inputs for path in paths),
        "peak_before_mib": round(before, 1),
        "peak_after_mib": round(after, 1),
    }
    await service.stop(5)
    await repository.close()
    await runner.cleanup()
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]).read_bytes(), Path(sys.argv[2])))
