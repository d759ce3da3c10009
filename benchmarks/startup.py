"""Start-up of the bot's engine against a bare diffusers load, side by side, each in a fresh
process on an SD 1.5-shaped random-weight model built in code (benchmarks/sd15_shaped.py):

- bot:  `load_engine` (what the GPU worker does at start: the pipeline, img2img/inpaint views
        sharing its weights, the warm-up; upscaler, NSFW checker, describe and IP-Adapter
        are not loaded: they load on first use) → "ready", then the first image;
- bare: `StableDiffusionPipeline.from_pretrained(folder)` → "ready", then the same image.

Printed: seconds from process start to import done, to ready, to the first image, and the
process' peak RSS. Runs alternate (bot, bare, bare, bot) so drift favours neither.

    python benchmarks/startup.py [--model-dir DIR] [--narrow 1] [--size 512] [--steps 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _child(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    imported = time.perf_counter() - STARTED
    if args.child == "bot":
        from bot.config import Config
        from bot.engine.loader import load_engine
        from bot.engine.request import GenerationRequest

        settings = Config.from_env(
            {
                "MODEL": str(args.model_dir),
                "MODELS_DIR": str(args.model_dir.parent),
                "DATA_DIR": tempfile.mkdtemp(prefix="startup-"),
                "DEVICE": "cpu",
            }
        )
        engine = load_engine(settings)
        ready = time.perf_counter() - STARTED
        request = GenerationRequest(
            prompt="a lighthouse", width=args.size, height=args.size, seed=1, steps=args.steps, batch_size=1
        )
        engine.txt2img(request)
    else:
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline.from_pretrained(str(args.model_dir), safety_checker=None)
        pipe.set_progress_bar_config(disable=True)
        ready = time.perf_counter() - STARTED
        pipe(
            "a lighthouse",
            height=args.size,
            width=args.size,
            num_inference_steps=args.steps,
            generator=torch.Generator().manual_seed(1),
        )
    first = time.perf_counter() - STARTED
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"import_s": imported, "ready_s": ready, "first_image_s": first, "peak_rss_mib": rss}


def _run(args: argparse.Namespace, mode: str) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--model-dir", str(args.model_dir)]
    command += ["--size", str(args.size), "--steps", str(args.steps), "--threads", str(args.threads)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "sd15-shaped")
    parser.add_argument("--narrow", type=int, default=1, help="divide every width (4: a quick run)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=("bot", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args)))
        return
    from benchmarks.sd15_shaped import build_sd15_shaped

    build_sd15_shaped(args.model_dir, narrow=args.narrow)
    rows: dict[str, list[dict]] = {"bot": [], "bare": []}
    for mode in ("bot", "bare", "bare", "bot"):
        rows[mode].append(_run(args, mode))
        print(mode, rows[mode][-1], flush=True)
    print(f"\n{'':<6} {'import s':>9} {'ready s':>8} {'1st image s':>12} {'peak RSS MiB':>13}")
    for mode, runs in rows.items():
        mean = {key: sum(run[key] for run in runs) / len(runs) for key in runs[0]}
        print(
            f"{mode:<6} {mean['import_s']:9.1f} {mean['ready_s']:8.1f} {mean['first_image_s']:12.1f} "
            f"{mean['peak_rss_mib']:13.0f}"
        )


if __name__ == "__main__":
    main()
