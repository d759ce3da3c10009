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

Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import json
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
NARROW_MARKER = "narrow_sd1.json"
NARROW_VERSION = 1


def build_narrow_sd1(folder: Path) -> Path:
    """An SD 1.x-shaped model at a quarter of the widths (UNet 80/160/320/320, 192-wide text)."""
    folder = Path(folder)
    marker = folder / NARROW_MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("version") == NARROW_VERSION:
        return folder
    import torch
    from diffusers import (
        AutoencoderKL,
        DPMSolverMultistepScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from bot.engine.tiny import build_tokenizer

    torch.manual_seed(15)
    unet = UNet2DConditionModel(
        sample_size=64,
        block_out_channels=(80, 160, 320, 320),
        layers_per_block=2,
        cross_attention_dim=192,
        attention_head_dim=8,
        norm_num_groups=16,
    )
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(32, 64, 128, 128),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=512,
        scaling_factor=0.18215,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=192,
            intermediate_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            projection_dim=192,
            bos_token_id=512,
            eos_token_id=513,
            pad_token_id=513,
        )
    )
    with torch.no_grad():
        for module in (unet, vae, text_encoder):
            for parameter in module.parameters():
                if parameter.dim() > 1:
                    parameter.mul_(0.5)
    scheduler = DPMSolverMultistepScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=build_tokenizer(),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder, safe_serialization=True)
    marker.write_text(json.dumps({"version": NARROW_VERSION}))
    return folder


def _engine(model_dir: Path, data_dir: Path):
    from bot.config import Config
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": str(model_dir),
            "MODELS_DIR": str(model_dir.parent),
            "DATA_DIR": str(data_dir),
            "DEVICE": "cpu",
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
    args = parser.parse_args()
    if not 1 <= args.jobs <= 4:
        parser.error("--jobs must be 1..4")
    import torch

    torch.set_num_threads(args.threads)
    from bot.engine.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as scratch:
        models = args.models or Path(scratch) / "models"
        models.mkdir(parents=True, exist_ok=True)
        data = Path(scratch) / "data"
        print(
            f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
            f"{torch.__version__}, {args.threads} threads, {args.size}px, {args.steps} steps, "
            f"{args.jobs} jobs of 4 images, load {os.getloadavg()[0]:.1f}"
        )
        print("| model | one by one (img/s) | batched (img/s) | batched ÷ one by one |")
        print("|---|---|---|---|")
        for name, folder in (
            ("tiny", build_tiny_model(models / "tiny-sd")),
            ("narrow SD 1.x", build_narrow_sd1(models / "narrow-sd1")),
        ):
            figures = measure(_engine(folder, data), args)
            print(
                f"| {name} | {figures['one_by_one']:.2f} | {figures['batched']:.2f} | {figures['ratio']:.2f} |",
                flush=True,
            )
        print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
