"""Does batching across jobs pay on this machine? Images/second of ONE engine call of N×4 images ÷
N separate 4-image calls (what N waiting jobs cost one by one), measured side by side in one run,
alternating (ABBA) so that drift favours neither, on:

1. the embedded tiny model (bot/engine/tiny.py), and
2. a narrow SD 1.x-shaped model built in code: the same block layout as SD 1.5 (4 UNet levels,
   2 layers per block, cross-attention, a CLIP text encoder, a 4-level VAE) at a quarter of the
   widths, so that the cost per image is made of the same kinds of kernels at a size this CPU runs
   in seconds.

The batched call is `DiffusersEngine.txt2img_jobs` (each job keeps its own prompt and seeds); one
by one is `txt2img` per job. Batching across jobs should be on by default only where the ratio is
clearly above 1.

    python benchmarks/batching.py [--size 128] [--steps 8] [--jobs 2] [--repeats 2] [--threads 2]
    python benchmarks/batching.py --model full --size 512 --steps 4 --repeats 1 --models /tmp/m

`--model full` adds SD 1.5's own shape (full widths, 4 GB in fp32; built once into --models);
`--device cuda` measures a GPU (the operator's question: is MAX_BATCH_IMAGES=8 worth it there?).

Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROMPTS = ("a lighthouse at dusk, dramatic clouds", "a red fox in the snow")


def _engine(model_dir: Path, data_dir: Path, device: str):
    from bot.config import Config
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": str(model_dir),
            "MODELS_DIR": str(model_dir.parent),
            "DATA_DIR": str(data_dir),
            "DEVICE": device,
        }
    )
    return load_engine(settings)


def measure(engine, args: argparse.Namespace) -> dict[str, float]:
    """Seconds per image batched (one call of jobs×4) and one by one (jobs calls of 4), ABBA."""
    from bot.engine.interface import NO_INPUTS, Operation
    from bot.engine.request import GenerationRequest

    def request(prompt: str, seed: int) -> GenerationRequest:
        return GenerationRequest(
            prompt=prompt, width=args.size, height=args.size, seed=seed, steps=args.steps
        )

    jobs = [request(PROMPTS[job % len(PROMPTS)], 1000 + 4 * job) for job in range(args.jobs)]

    def one_by_one() -> float:
        started = time.perf_counter()
        for job in jobs:
            engine.generate(Operation.TXT2IMG, job, NO_INPUTS, lambda _: None)
        return time.perf_counter() - started

    def batched() -> float:
        started = time.perf_counter()
        engine.txt2img_jobs(jobs, lambda _: None)
        return time.perf_counter() - started

    images = 4 * args.jobs
    times: dict[str, list[float]] = {"batched": [], "one_by_one": []}
    batched()  # warm-up at the batched shape too
    for repeat in range(args.repeats):
        order = (batched, one_by_one) if repeat % 2 == 0 else (one_by_one, batched)
        for run in order + order[::-1]:
            times[run.__name__].append(run())
    batched_ips = images / statistics.median(times["batched"])
    alone_ips = images / statistics.median(times["one_by_one"])
    print(
        "# seconds per run, in order of the runs: batched "
        + ", ".join(f"{t:.1f}" for t in times["batched"])
        + "; one by one "
        + ", ".join(f"{t:.1f}" for t in times["one_by_one"]),
        flush=True,
    )
    return {"batched": batched_ips, "one_by_one": alone_ips, "ratio": batched_ips / alone_ips}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2, help="jobs of 4 images in one batched call")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--models", type=Path, default=None, help="where to build the models (default: a temp dir)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps (as the DEVICE setting)")
    parser.add_argument(
        "--model",
        action="append",
        choices=("tiny", "narrow", "full"),
        help="which models to measure (repeatable; default: tiny and narrow)",
    )
    args = parser.parse_args()
    chosen = args.model or ["tiny", "narrow"]
    if not 1 <= args.jobs <= 4:
        parser.error("--jobs must be 1..4")
    import torch

    torch.set_num_threads(args.threads)
    from benchmarks.sd15_shaped import build_sd15_shaped
    from bot.engine.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as scratch:
        models = args.models or Path(scratch) / "models"
        models.mkdir(parents=True, exist_ok=True)
        data = Path(scratch) / "data"
        print(
            f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
            f"{torch.__version__}, {args.threads} threads, {args.size}px, {args.steps} steps, "
            f"{args.jobs} jobs of 4 images, {args.repeats} ABBA repeats, load {os.getloadavg()[0]:.1f}"
        )
        print("| model | one by one (img/s) | batched (img/s) | batched ÷ one by one |")
        print("|---|---|---|---|")
        builders = {
            "tiny": ("tiny", lambda: build_tiny_model(models / "tiny-sd")),
            "narrow": ("narrow SD 1.x", lambda: build_sd15_shaped(models / "narrow-sd1", narrow=4)),
            "full": ("SD 1.5-shaped", lambda: build_sd15_shaped(models / "sd15-shaped")),
        }
        for choice in chosen:
            name, build = builders[choice]
            engine = _engine(build(), data, args.device)
            figures = measure(engine, args)
            del engine
            print(
                f"| {name} | {figures['one_by_one']:.2f} | {figures['batched']:.2f} | {figures['ratio']:.2f} |",
                flush=True,
            )
        print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
