"""Scale-out benchmark: the Ray Serve backend against the in-process thread backend.

On a local Ray cluster started here (CPU replicas, tiny model), through the real JobService:

1. throughput: the same batch of jobs on 1 replica and on 2 replicas (jobs/s and the ratio);
2. per-job overhead: one multi-second job on the thread backend vs one Ray replica, one CPU thread
   each, run alternately: median wall time from submit to Finished, and the part of it spent
   outside the engine call (dispatch, streaming, storing), which CPU contention does not blur;
3. model affinity: a queue alternating two models on 2 replicas, with and without affinity —
   model loads after warm-up (the reloads affinity saves).

    python benchmarks/scale.py [--jobs 8] [--steps 20] [--size 128] [--long-steps 150] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def settings_for(models_dir: Path, data_dir: Path, **env: str):
    from bot.config import Config

    base = {
        "MODEL": "tiny",
        "MODELS_DIR": str(models_dir),
        "DATA_DIR": str(data_dir),
        "DEVICE": "cpu",
        "PROGRESS_INTERVAL": "2",
        "MAX_JOBS_PER_USER": "100",
        "BACKEND": "ray",
        "RAY_GPUS_PER_REPLICA": "0",
    }
    base.update(env)
    return Config.from_env(base)


async def run_jobs(backend, settings, requests, engine_seconds: list[float] | None = None) -> float:
    """Submit every request (one user each, fair queue) through a JobService; seconds until all
    finish. `engine_seconds` gets each job's time inside the worker (run_order), if given."""
    from bot.jobs.events import Finished
    from bot.jobs.models import JobKind, NewJob
    from bot.jobs.service import JobService
    from bot.store.repository import Repository

    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, backend, previews=False)
    await service.start()
    try:
        started = time.perf_counter()
        jobs = [
            await service.submit(
                NewJob(kind=JobKind.IMAGINE, user_id=n, prompt=request.prompt, request=request)
            )
            for n, request in enumerate(requests)
        ]
        for job in jobs:
            async for event in service.subscribe(job.id):
                if event.__class__.__name__ in ("Failed", "Cancelled"):
                    raise RuntimeError(f"job failed: {event}")
                last = event
            assert isinstance(last, Finished)
        elapsed = time.perf_counter() - started
        if engine_seconds is not None:
            engine_seconds.extend([(await service.repository.get_job(job.id)).gpu_seconds for job in jobs])
        return elapsed
    finally:
        await service.stop(grace=0)
        await repository.close()


class Lent:
    """A started backend lent to one JobService run (start/stop do nothing)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    capacity = property(lambda self: self.inner.capacity)
    family = property(lambda self: self.inner.family)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def submit(self, order):
        return self.inner.submit(order)

    def cancel(self, job_id: str) -> None:
        self.inner.cancel(job_id)


def request(prompt: str, seed: int, size: int, steps: int, model: str = ""):
    from bot.engine.request import GenerationRequest

    return GenerationRequest(prompt=prompt, width=size, height=size, seed=seed, steps=steps, model=model)


async def main(args: argparse.Namespace) -> None:
    import ray

    from bot.engine.tiny import build_tiny_model
    from bot.jobs.backend import ThreadBackend
    from bot.jobs.factory import load_model_pool
    from bot.jobs.ray_backend import RayServeBackend

    work = Path(tempfile.mkdtemp(prefix="scale-"))
    models = work / "models"
    tiny = build_tiny_model(models / "tiny-sd")
    aliases = {}
    for name in ("x", "y"):
        shutil.copytree(tiny, models / f"tiny-{name}")
        aliases[name] = str(models / f"tiny-{name}")
    alias_env = ",".join(f"{name}={path}" for name, path in aliases.items())
    cpus = os.cpu_count() or 2
    ray.init(
        address="local",
        num_cpus=cpus,
        include_dashboard=False,
        object_store_memory=200_000_000,
        logging_level="ERROR",
        _node_ip_address="127.0.0.1",  # every Ray server on loopback
    )
    print(
        f"machine: {cpus} CPUs, load average {os.getloadavg()[0]:.1f} (other processes skew wall times); "
        f"tiny model, {args.size}px, 4 images per job"
    )
    try:
        # 1. Throughput, 1 vs 2 replicas (one CPU thread each, as one GPU each would be).
        rates = {}
        for replicas in (1, 2) if "throughput" in args.phases else ():
            settings = settings_for(models, work / f"data-{replicas}", RAY_REPLICAS=str(replicas))
            backend = RayServeBackend(settings, load_model_pool, app_name=f"scale-{replicas}")
            await backend.start()
            try:
                await run_jobs(Lent(backend), settings, [request("warm", 0, args.size, 2)] * replicas)
                jobs = [request(f"job {n}", n, args.size, args.steps) for n in range(args.jobs)]
                seconds = await run_jobs(Lent(backend), settings, jobs)
            finally:
                await backend.stop()
            rates[replicas] = args.jobs / seconds
            print(
                f"throughput, {replicas} replica(s): {args.jobs} jobs in {seconds:.1f} s = {rates[replicas]:.2f} jobs/s"
            )
        if rates:
            print(
                f"throughput ratio 2 vs 1 replicas: {rates[2] / rates[1]:.2f}x (bound: {min(cpus, 2)} cores; "
                f"load average now {os.getloadavg()[0]:.1f})"
            )

        if "overhead" in args.phases:
            # 2. Per-job overhead on a multi-second job: thread backend vs one Ray replica with the
            #    same CPU threads.
            # One CPU thread on both sides (a Ray replica with num_cpus=1 gets OMP_NUM_THREADS=1):
            # two OpenMP threads on a busy 2-core box spin and make timings meaningless.
            import torch

            torch.set_num_threads(1)
            settings = settings_for(
                models, work / "data-overhead", RAY_REPLICAS="1", RAY_CPUS_PER_REPLICA="1"
            )
            ray_backend = RayServeBackend(settings, load_model_pool, app_name="scale-overhead")
            thread_backend = ThreadBackend(lambda: load_model_pool(settings))
            await ray_backend.start()
            await thread_backend.start()
            times: dict[str, list[float]] = {"thread": [], "ray": []}
            outside: dict[str, list[float]] = {"thread": [], "ray": []}  # wall time minus engine time
            try:
                for backend in (thread_backend, ray_backend):
                    await run_jobs(Lent(backend), settings, [request("warm", 0, args.size, 2)])
                for n in range(args.repeats):
                    for name, backend in (("thread", thread_backend), ("ray", ray_backend)):
                        long_job = request(f"long {n}", 100 + n, args.size, args.long_steps)
                        inside: list[float] = []
                        times[name].append(await run_jobs(Lent(backend), settings, [long_job], inside))
                        outside[name].append(times[name][-1] - inside[0])
            finally:
                await thread_backend.stop()
                await ray_backend.stop()
            thread_s, ray_s = statistics.median(times["thread"]), statistics.median(times["ray"])
            print(
                f"one {args.long_steps}-step job, median of {args.repeats}: thread {thread_s:.2f} s, "
                f"ray {ray_s:.2f} s; Ray overhead {100 * (ray_s / thread_s - 1):+.1f}% (wall times: CPU contention shows here)"
            )
            # Wall time outside the engine call (dispatch, streaming, storing): independent of how
            # fast the CPU happened to be during the engine call.
            thread_out, ray_out = statistics.median(outside["thread"]), statistics.median(outside["ray"])
            print(
                f"time outside the engine per job, median: thread {1000 * thread_out:.0f} ms, ray {1000 * ray_out:.0f} ms; "
                f"Ray adds {1000 * (ray_out - thread_out):.0f} ms = {100 * (ray_out - thread_out) / thread_s:.1f}% "
                f"of a {thread_s:.1f} s job"
            )

        if "affinity" in args.phases:
            # 3. Model affinity on a queue alternating two models (2 replicas).
            for affinity in (True, False):
                settings = settings_for(
                    models, work / f"data-aff-{affinity}", RAY_REPLICAS="2", MODEL_ALIASES=alias_env
                )
                backend = RayServeBackend(
                    settings, load_model_pool, app_name=f"scale-aff-{int(affinity)}", affinity=affinity
                )
                await backend.start()
                try:
                    warm = [
                        request("warm x", 0, 64, 1, aliases["x"]),
                        request("warm y", 1, 64, 1, aliases["y"]),
                    ]
                    await run_jobs(Lent(backend), settings, warm)
                    loads = backend.loads
                    queue = [request(f"m {n}", n, 64, 4, aliases["xy"[n % 2]]) for n in range(args.jobs * 2)]
                    seconds = await run_jobs(Lent(backend), settings, queue)
                    reloads = backend.loads - loads
                finally:
                    await backend.stop()
                label = "with affinity" if affinity else "without affinity"
                print(
                    f"alternating x/y queue of {len(queue)} jobs {label}: {reloads} model loads, {seconds:.1f} s"
                )
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--long-steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--phases", default="throughput,overhead,affinity", help="comma-separated")
    sys.exit(asyncio.run(main(parser.parse_args())))
