"""Does COMPILE=1 (torch.compile of the UNet, inductor) pay off on this machine? Side by side in one
process: start-up (load + warm-up, i.e. the compile) and the per-job time of the same txt2img job
on an eager and a compiled engine (alternating runs, same seeds), the pixel difference, and the
machine load before and after (`os.getloadavg()`; the machine is shared).

    python benchmarks/compile.py [--model tiny|sd15] [--narrow 4] [--size 128] [--steps 4]
                                 [--batch 4] [--repeats 3] [--precision auto|fp32] [--threads 2]

The inductor cache is a fresh temporary directory (a cold compile, as on a new machine); `--model
sd15` is the SD 1.5-shaped random-weight model of benchmarks/sd15_shaped.py, `--narrow`× narrower.
Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _model(args: argparse.Namespace, folder: Path) -> tuple[str, Path]:
    """(MODEL, MODELS_DIR) for the chosen model, built in code under `folder`."""
    if args.model == "tiny":
        return "tiny", folder
    from benchmarks.sd15_shaped import build_sd15_shaped

    built = build_sd15_shaped(folder / f"sd15-shaped-narrow{args.narrow}", narrow=args.narrow)
    return str(built), folder


def _load(args: argparse.Namespace, model: str, models_dir: Path, compile_: bool):
    from bot.config import Config
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": model,
            "MODELS_DIR": str(models_dir),
            "DATA_DIR": str(models_dir / "data"),
            "DEVICE": "cpu",
            "PRECISION": args.precision,
            "COMPILE": "1" if compile_ else "0",
        }
    )
    started = time.perf_counter()
    engine = load_engine(settings)
    return engine, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=("tiny", "sd15"), default="tiny")
    parser.add_argument("--narrow", type=int, default=4)
    parser.add_argument("--size", type=int, default=0, help="default: the model's native size")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-compile-"))
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor-cache")  # cold: nothing cached

    import numpy as np
    import torch

    from bot.engine.request import GenerationRequest

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    model, models_dir = _model(args, folder)
    eager, eager_start = _load(args, model, models_dir, False)
    compiled, compiled_start = _load(args, model, models_dir, True)
    size = args.size or eager.family.native_size
    request = GenerationRequest(
        prompt="a lighthouse at dusk",
        width=size,
        height=size,
        seed=7,
        steps=args.steps,
        batch_size=args.batch,
    )
    wide = replace(request, width=size * 16 // 9 // 8 * 8)  # --ar 16:9: must not recompile
    timings: dict[str, list[float]] = {"eager": [], "compiled": []}
    images = {}
    first_wide = time.perf_counter()
    compiled.txt2img(wide)
    first_wide = time.perf_counter() - first_wide
    for repeat in range(args.repeats):  # ABBA: drift favours neither
        order = (("eager", eager), ("compiled", compiled))
        for name, engine in order if repeat % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            result = engine.txt2img(request)
            timings[name].append(time.perf_counter() - started)
            images[name] = np.stack([np.asarray(image, dtype=np.int16) for image in result.images])
    load_after = os.getloadavg()
    difference = np.abs(images["eager"] - images["compiled"])
    per_job = {name: statistics.median(values) for name, values in timings.items()}
    print(
        f"\nCOMPILE=1 vs eager: {args.model}"
        + (f" (narrow {args.narrow})" if args.model == "sd15" else "")
        + f", {size}px, {args.steps} steps, {args.batch} images, PRECISION={args.precision} "
        f"({eager.precision.describe() if eager.precision else '?'}), {args.threads} threads, torch {torch.__version__}"
    )
    print(f"load average before {load_before[0]:.1f} / after {load_after[0]:.1f} (1 min)")
    rows = [
        ("start-up (load + warm-up)", f"{eager_start:.1f} s", f"{compiled_start:.1f} s"),
        ("compile cost (difference)", "", f"{compiled_start - eager_start:.1f} s"),
        (f"per job (median of {args.repeats})", f"{per_job['eager']:.3f} s", f"{per_job['compiled']:.3f} s"),
        ("compiled ÷ eager per job", "", f"{per_job['compiled'] / per_job['eager']:.2f}"),
        ("first 16:9 job (recompile?)", "", f"{first_wide:.3f} s"),
        ("pixel difference max / mean", "", f"{int(difference.max())} / {difference.mean():.2f} of 255"),
    ]
    saved = per_job["eager"] - per_job["compiled"]
    breakeven = f"{(compiled_start - eager_start) / saved:.0f} jobs" if saved > 0 else "never (no gain)"
    rows.append(("jobs to pay the compile back", "", breakeven))
    print(f"{'':32} {'eager':>12} {'COMPILE=1':>12}")
    for label, first, second in rows:
        print(f"{label:32} {first:>12} {second:>12}")


if __name__ == "__main__":
    main()
