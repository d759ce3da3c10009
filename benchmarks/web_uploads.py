"""Memory of concurrent web uploads: `--posts` /blend posts at once, each of 5 pictures of about
20 MB (noise PNGs of 2600², the largest that fit MAX_IMAGE_BYTES), against the web app in this
web app (local mode, the fake engine: no model).

1. Start the web app in a child process on 127.0.0.1 (a random port) over a real job service
   and database (the child is what is measured; the pictures live in this process).
2. Warm up with one small /blend; note the child's resident memory (VmRSS) and reset its peak
   (`/proc/<pid>/clear_refs`).
3. Send the posts at once; print their statuses, the seconds they took, and the child's peak
   resident memory (VmHWM) above the warm baseline.

Usage: `PYTHONPATH=. python benchmarks/web_uploads.py [--posts 4]`
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Config  # noqa: E402
from bot.jobs.backend import ThreadBackend  # noqa: E402
from bot.jobs.service import JobService  # noqa: E402
from bot.store.repository import Repository  # noqa: E402
from bot.web.app import WebServer  # noqa: E402
from bot.web.context import WebContext  # noqa: E402
from bot.web.serve import register_web_delivery  # noqa: E402
from bot.web.sessions import LocalUser  # noqa: E402
from tests.jobs.conftest import FakeEngine  # noqa: E402


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024  # MiB
    raise KeyError(field)


def noise_png(side: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


async def blend(http: aiohttp.ClientSession, url: str, csrf: str, files: list[bytes]) -> int:
    form = aiohttp.FormData(default_to_multipart=True)
    for n, data in enumerate(files):
        form.add_field("image", data, filename=f"p{n}.png", content_type="image/png")
    async with http.post(f"{url}/api/blend", data=form, headers={"X-CSRF-Token": csrf}) as response:
        await response.read()
        return response.status


async def serve() -> None:
    """The web app alone (this is the process measured): prints its URL, then answers `reset`
    (note the warm memory, reset the peak) and `peak` on stdin."""
    with tempfile.TemporaryDirectory() as data:
        settings = Config.from_env(
            {"DATA_DIR": data, "MODEL": "tiny", "DEVICE": "cpu", "WEB_SECRET": "bench", "STEPS": "1"}
        )
        repository = await Repository.open(settings.database_path, settings.images_dir)
        engine = FakeEngine()
        jobs = JobService(settings, repository, ThreadBackend(lambda: engine))
        register_web_delivery(jobs)
        await jobs.start()
        server = WebServer(
            WebContext.create(settings, jobs, local_user=LocalUser()), host="127.0.0.1", port=0
        )
        print(await server.start(), flush=True)
        baseline = 0
        loop = asyncio.get_running_loop()
        try:
            while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
                if line == "reset":
                    baseline = _status("VmRSS")
                    Path("/proc/self/clear_refs").write_text("5")  # noqa: ASYNC240 (a /proc switch)
                    print("ok", flush=True)
                elif line == "peak":
                    print(f"{baseline} {_status('VmHWM')}", flush=True)
        finally:
            await server.stop()
            await jobs.stop(1.0)
            await repository.close()


async def main(posts: int) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None

    async def ask(line: str) -> str:
        child.stdin.write(line.encode() + b"\n")
        await child.stdin.drain()
        return (await child.stdout.readline()).decode().strip()

    url = (await child.stdout.readline()).decode().strip()
    pictures = [noise_png(2600, seed) for seed in range(5)]
    print(f"{posts} concurrent /blend posts x 5 pictures of {len(pictures[0]) / 1e6:.1f} MB")
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{url}/") as response:
                page = await response.text()
            csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
            assert await blend(http, url, csrf, [noise_png(64, seed) for seed in range(2)]) == 200
            await ask("reset")
            started = time.monotonic()
            statuses = await asyncio.gather(*(blend(http, url, csrf, pictures) for _ in range(posts)))
            seconds = time.monotonic() - started
        baseline, peak = (int(value) for value in (await ask("peak")).split())
        print(f"statuses {statuses}, {seconds:.1f} s")
        print(f"web app's resident memory: {baseline} MiB warm, peak {peak} MiB (+{peak - baseline} MiB)")
    finally:
        child.stdin.close()
        await child.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=4)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(serve() if arguments.serve else main(arguments.posts))
