"""Engine benchmark on the embedded tiny model (CPU here; pass --device cuda on a GPU box).

For each size: seconds per 4-image grid (one batched call), seconds for the same four images as
four single-image calls, their ratio, and the peak RSS of a fresh process that did only that.
Each size runs in its own subprocess so peak RSS is not inherited from the previous one.

    python benchmarks/engine.py [--sizes 128 256] [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(size: int, steps: int, repeats: int, models_dir: str, device: str) -> dict:
    from bot.config import Config
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest

    engine = load_engine(Config.from_env({"MODEL": "tiny", "MODELS_DIR": models_dir, "DEVICE": device}))
    request = GenerationRequest(prompt="a lighthouse at dusk", width=size, height=size, seed=1, steps=steps)
    engine.txt2img(GenerationRequest(prompt="warm up", width=size, height=size, seed=0, steps=2))
    batched, singles = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        engine.txt2img(request)
        batched.append(time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(4):
            engine.txt2img(
                GenerationRequest(
                    prompt=request.prompt, width=size, height=size, seed=1 + n, steps=steps, batch_size=1
                )
            )
        singles.append(time.perf_counter() - started)
    return {
        "size": size,
        "steps": steps,
        "grid_seconds": statistics.median(batched),
        "four_singles_seconds": statistics.median(singles),
        "batched_over_singles": statistics.median(batched) / statistics.median(singles),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    models_dir = args.models_dir or tempfile.mkdtemp(prefix="bench-models-")
    if args.child:
        print(json.dumps(measure(args.child, args.steps, args.repeats, models_dir, args.device)))
        return
    from bot.engine.tiny import build_tiny_model

    build_tiny_model(Path(models_dir) / "tiny-sd")
    print(f"{'size':>6} {'steps':>5} {'grid s':>8} {'4x1 s':>8} {'batched/4x1':>12} {'peak RSS MiB':>13}")
    for size in args.sizes:
        command = [
            sys.executable,
            __file__,
            "--child",
            str(size),
            "--steps",
            str(args.steps),
            "--repeats",
            str(args.repeats),
            "--device",
            args.device,
            "--models-dir",
            models_dir,
        ]
        row = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
        )
        print(
            f"{row['size']:>6} {row['steps']:>5} {row['grid_seconds']:>8.2f} {row['four_singles_seconds']:>8.2f} "
            f"{row['batched_over_singles']:>12.2f} {row['peak_rss_mib']:>13.0f}"
        )


if __name__ == "__main__":
    main()
