"""Is the bot faster than the diffusers call a user would write? Ratios measured side by side in one
run, on an SD 1.5-shaped random-weight model built in code (benchmarks/sd15_shaped.py):

1. a whole job through the job system (submit → scheduler → worker → PNGs, grid, rows →
   Finished) with PRECISION=auto (bf16 autocast on a CPU with native bf16) and PRECISION=fp32,
   each ÷ a bare fp32 `StableDiffusionPipeline` call for the same work (same weights, scheduler,
   size, steps, seeds); runs alternate (ABC, CBA) so drift favours none. Pixel differences too.
   Must hold: bf16 ≤ 0.80, fp32 ≤ 1.05.
2. --draft (no DRAFT_LORA: a third of the steps) ÷ the same job without it.
3. a progress preview with a TAESD-shaped tiny VAE decoder (AutoencoderTiny's default layout):
   its cost per job as a share of the job (goal ≤ 2%).
4. peak RSS of a process that ran txt2img, img2img, inpaint and upscale ÷ one that ran txt2img
   only (goal ≤ 1.10; one copy of the weights), and start-up to the first denoising step.

    python benchmarks/speed.py [--size 256] [--steps 6] [--batch 4] [--repeats 2] [--threads 2]

Each RSS / start-up figure comes from a fresh subprocess. Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STARTED = time.perf_counter()
PROMPT = "a lighthouse at dusk, dramatic clouds"


def _settings(model_dir: Path, data_dir: Path, precision: str = "auto"):
    from bot.config import Config

    return Config.from_env(
        {
            "MODEL": str(model_dir),
            "MODELS_DIR": str(model_dir.parent),
            "DATA_DIR": str(data_dir),
            "DEVICE": "cpu",
            "PRECISION": precision,
            "PROGRESS_INTERVAL": "2",
        }
    )


def _request(args: argparse.Namespace, steps: int | None = None):
    from bot.engine.request import GenerationRequest

    return GenerationRequest(
        prompt=PROMPT,
        width=args.size,
        height=args.size,
        seed=1234,
        steps=steps or args.steps,
        guidance_scale=7.0,
        batch_size=args.batch,
    )


def _bare_pipeline(engine):
    """What a user would write: a StableDiffusionPipeline on the same weights, DPM++ 2M Karras, fp32."""
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    components = dict(engine.txt2img_pipe.components)
    components["scheduler"] = DPMSolverMultistepScheduler.from_config(
        engine.txt2img_pipe.scheduler.config, use_karras_sigmas=True
    )
    pipe = StableDiffusionPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _bare_call(pipe, request):
    import torch

    generators = [torch.Generator("cpu").manual_seed(seed) for seed in request.seeds]
    started = time.perf_counter()
    output = pipe(
        request.prompt,
        negative_prompt="",
        height=request.height,
        width=request.width,
        num_inference_steps=request.steps,
        guidance_scale=request.guidance_scale,
        num_images_per_prompt=request.batch_size,
        generator=generators,
    )
    return time.perf_counter() - started, output.images


async def _job(service, request):
    from bot.jobs.events import Finished
    from bot.jobs.models import JobKind, NewJob

    started = time.perf_counter()
    job = await service.submit(
        NewJob(kind=JobKind.IMAGINE, user_id=1, prompt=request.prompt, request=request)
    )
    images = []
    async for event in service.subscribe(job.id):
        if isinstance(event, Finished):
            images = event.images
    seconds = time.perf_counter() - started
    from PIL import Image

    pictures = []
    for image in images:
        with Image.open(image.path) as opened:
            pictures.append(opened.convert("RGB"))
    return seconds, pictures


def _difference(first, second) -> tuple[float, float]:
    import numpy as np

    a = np.stack([np.asarray(image, dtype=np.int16) for image in first])
    b = np.stack([np.asarray(image, dtype=np.int16) for image in second])
    difference = np.abs(a - b)
    return float(difference.max()), float(difference.mean())


async def side_by_side(args: argparse.Namespace, model_dir: Path) -> dict:
    """Parts 1-3 in one process: bare fp32 vs bot bf16 vs bot fp32, draft vs normal, preview cost."""
    import torch

    from bot.engine.device import pick_precision
    from bot.engine.family import SD1
    from bot.engine.loader import load_engine
    from bot.engine.preview import TinyPreviewDecoder
    from bot.jobs.backend import ThreadBackend
    from bot.jobs.service import JobService
    from bot.prompt.mapping import draft_recipe
    from bot.store.repository import Repository

    torch.set_num_threads(args.threads)
    data_dir = Path(tempfile.mkdtemp(prefix="speed-"))
    settings = _settings(model_dir, data_dir, "auto")
    engine = load_engine(settings)  # no warm-up on the CPU (bot/engine/warmup.py)
    auto = engine.precision
    fp32 = pick_precision(engine.device, "fp32")
    bare = _bare_pipeline(engine)
    request = _request(args)
    engine.txt2img(replace(request, steps=1))  # first-call costs out of the timings, both sides
    _bare_call(bare, replace(request, steps=1))

    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(lambda: engine), previews=False)
    await service.start()
    times: dict[str, list[float]] = {"bare": [], "auto": [], "fp32": []}
    images: dict[str, list] = {}
    for repeat in range(args.repeats):
        order = ["bare", "auto", "fp32"] if repeat % 2 == 0 else ["fp32", "auto", "bare"]
        for kind in order:
            if kind == "bare":
                seconds, pictures = _bare_call(bare, request)
            else:
                engine.precision = auto if kind == "auto" else fp32
                seconds, pictures = await _job(service, request)
            times[kind].append(seconds)
            images[kind] = pictures
            print(f"  {kind:>5}: {seconds:6.1f} s", file=sys.stderr, flush=True)
    engine.precision = auto

    recipe = draft_recipe(request.steps, request.guidance_scale, SD1, "")
    draft_times, normal_times = [], []
    for repeat in range(args.repeats):
        for kind in ["normal", "draft"] if repeat % 2 == 0 else ["draft", "normal"]:
            steps = recipe.steps if kind == "draft" else request.steps
            seconds, _ = await _job(service, replace(request, steps=steps))
            (draft_times if kind == "draft" else normal_times).append(seconds)
            print(f"  {kind:>6}: {seconds:6.1f} s ({steps} steps)", file=sys.stderr, flush=True)
    await service.stop()
    await repository.close()

    # A TAESD-shaped decoder (AutoencoderTiny's default layout, random weights) on the job's
    # latents, one preview per step (or per PROGRESS_INTERVAL when steps are faster), as in a job:
    # it shrinks itself while over its 2% budget, then stays where it settled.
    from diffusers import AutoencoderTiny

    from bot.engine.preview import latents_to_preview

    job_seconds = statistics.median(times["auto"])
    gap = max(job_seconds / request.steps, settings.progress_interval)
    decoder = TinyPreviewDecoder(AutoencoderTiny().eval(), auto.autocast)
    latents = torch.randn(args.batch, 4, args.size // 8, args.size // 8)
    costs = []
    for _ in range(8):
        decoder._last_call = time.perf_counter() - gap
        started = time.perf_counter()
        if decoder.affordable:
            decoder(latents)
        else:
            latents_to_preview(latents, SD1)
        costs.append(time.perf_counter() - started)
    preview = statistics.median(costs[-3:])  # settled
    first = costs[0]
    max_diff, mean_diff = _difference(images["auto"], images["fp32"])
    bare_max, bare_mean = _difference(images["fp32"], images["bare"])
    return {
        "precision": auto.describe(),
        "bare_fp32_s": statistics.median(times["bare"]),
        "bot_auto_s": job_seconds,
        "bot_fp32_s": statistics.median(times["fp32"]),
        "auto_over_bare": job_seconds / statistics.median(times["bare"]),
        "fp32_over_bare": statistics.median(times["fp32"]) / statistics.median(times["bare"]),
        "auto_vs_fp32_max_diff": max_diff,
        "auto_vs_fp32_mean_diff": mean_diff,
        "fp32_vs_bare_max_diff": bare_max,
        "fp32_vs_bare_mean_diff": bare_mean,
        "draft_steps": recipe.steps,
        "draft_over_normal": statistics.median(draft_times) / statistics.median(normal_times),
        "preview_s": preview,
        "preview_first_s": first,
        "preview_gap_s": gap,
        "preview_how": f"TAESD at {decoder.side} latents a side"
        if decoder.affordable
        else "latent projection",
        "preview_share": preview / gap,
    }


def child_rss(args: argparse.Namespace, model_dir: Path, everything: bool) -> dict:
    """Peak RSS of a process that ran txt2img (and, with `everything`, img2img, inpaint, upscale)."""
    import torch
    from PIL import Image

    from bot.engine.interface import GenerationInputs, Operation
    from bot.engine.loader import load_engine

    torch.set_num_threads(args.threads)
    engine = load_engine(_settings(model_dir, Path(tempfile.mkdtemp(prefix="rss-"))))
    request = _request(args, steps=2)
    result = engine.generate(Operation.TXT2IMG, request)
    if everything:
        picture = result.images[0]
        mask = Image.new("L", picture.size, 0)
        mask.paste(255, (0, 0, picture.width // 2, picture.height))
        engine.generate(Operation.IMG2IMG, replace(request, strength=0.5), GenerationInputs(image=picture))
        engine.generate(
            Operation.INPAINT, replace(request, strength=1.0), GenerationInputs(image=picture, mask=mask)
        )
        small = picture.resize((args.size // 2, args.size // 2))
        engine.generate(
            Operation.UPSCALE, replace(request, strength=0.3, batch_size=1), GenerationInputs(image=small)
        )
    return {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_startup(args: argparse.Namespace, model_dir: Path) -> dict:
    """Seconds from process start to the first denoising step of the first job (any warm-up included)."""
    import torch

    from bot.engine.loader import load_engine

    torch.set_num_threads(args.threads)
    loaded_at: list[float] = []
    engine = load_engine(_settings(model_dir, Path(tempfile.mkdtemp(prefix="start-"))))
    loaded_at.append(time.perf_counter() - STARTED)
    first_step: list[float] = []

    def on_step(progress) -> None:
        if not first_step:
            first_step.append(time.perf_counter() - STARTED)

    engine.txt2img(_request(args, steps=2), on_step)
    return {"ready_s": loaded_at[0], "first_step_s": first_step[0]}


def _child(args: argparse.Namespace, mode: str) -> dict:
    command = [sys.executable, __file__, "--child", mode, *_passed(args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    row = json.loads(done.stdout.splitlines()[-1])
    row["wall_s"] = time.perf_counter() - started
    return row


def _passed(args: argparse.Namespace) -> list[str]:
    return [
        "--size", str(args.size), "--steps", str(args.steps), "--batch", str(args.batch),
        "--threads", str(args.threads), "--repeats", str(args.repeats), "--model-dir", str(args.model_dir),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "bench-sd15-shaped")
    parser.add_argument("--skip-subprocesses", action="store_true", help="only the side-by-side part")
    parser.add_argument("--only-subprocesses", action="store_true", help="only peak RSS and start-up")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from bot.engine.device import quiet_libraries

    quiet_libraries()
    if args.child:
        if args.child == "startup":
            row = child_startup(args, args.model_dir)
        else:
            row = child_rss(args, args.model_dir, everything=args.child == "all")
        print(json.dumps(row))
        return
    from benchmarks.sd15_shaped import build_sd15_shaped

    build_sd15_shaped(args.model_dir)
    print(
        f"SD 1.5-shaped random weights, {args.batch} images {args.size}px, {args.steps} steps, "
        f"{args.threads} threads; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    rows = (
        []
        if args.only_subprocesses
        else _side_by_side_rows(args, asyncio.run(side_by_side(args, args.model_dir)))
    )
    if not args.skip_subprocesses:
        rows += _subprocess_rows(args)
    width = max(len(name) for name, _, _ in rows)
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:<48} {ratio}")


def _side_by_side_rows(args: argparse.Namespace, result: dict) -> list[tuple[str, str, str]]:
    return [
        ("precision (auto)", result["precision"], ""),
        ("bare diffusers fp32", f"{result['bare_fp32_s']:.1f} s", "1.00"),
        (
            "bot job, PRECISION=auto",
            f"{result['bot_auto_s']:.1f} s",
            f"{result['auto_over_bare']:.2f} (≤ 0.80)",
        ),
        (
            "bot job, PRECISION=fp32",
            f"{result['bot_fp32_s']:.1f} s",
            f"{result['fp32_over_bare']:.2f} (≤ 1.05)",
        ),
        (
            "pixels auto vs fp32",
            f"max {result['auto_vs_fp32_max_diff']:.0f}/255, mean {result['auto_vs_fp32_mean_diff']:.2f}/255",
            "",
        ),
        (
            "pixels bot fp32 vs bare",
            f"max {result['fp32_vs_bare_max_diff']:.0f}/255, mean {result['fp32_vs_bare_mean_diff']:.2f}/255",
            "",
        ),
        (
            "--draft ÷ normal",
            f"{result['draft_steps']} vs {args.steps} steps",
            f"{result['draft_over_normal']:.2f}",
        ),
        (
            "preview, settled",
            f"{result['preview_how']}: {result['preview_s'] * 1000:.0f} ms per {result['preview_gap_s']:.1f} s"
            f" (first TAESD at 32: {result['preview_first_s'] * 1000:.0f} ms)",
            f"{result['preview_share'] * 100:.1f}% of a job (≤ 2%)",
        ),
    ]


def _subprocess_rows(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    alone = _child(args, "txt2img")
    everything = _child(args, "all")
    startup = _child(args, "startup")
    return [
        ("peak RSS txt2img only", f"{alone['peak_rss_mib']:.0f} MiB", ""),
        (
            "peak RSS all operations",
            f"{everything['peak_rss_mib']:.0f} MiB",
            f"{everything['peak_rss_mib'] / alone['peak_rss_mib']:.2f} (≤ 1.10)",
        ),
        (
            "start-up to first step",
            f"{startup['first_step_s']:.1f} s (ready after {startup['ready_s']:.1f} s, any warm-up included)",
            "",
        ),
    ]


if __name__ == "__main__":
    main()
