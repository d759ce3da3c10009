"""Per model family: the bot's engine ÷ the bare diffusers call a user would write, side by side.

For each family's embedded model (`tiny` = SD 1.x, `tiny-sd3`, `tiny-flux`), the same work — one
txt2img grid of `--batch` images at `--size` px, `--steps` steps, the same seeds — is run through
`DiffusersEngine.generate` (PRECISION=auto: bf16 autocast on a CPU with native bf16; and fp32) and
through the bare pipeline (`pipe(prompt, ...)`, fp32, its own default scheduler settings, loaded
from the same folder). Runs alternate (A B C, C B A) so drift favours none; medians are printed
with the ratios. Not a test: it prints a table.

    python benchmarks/families.py [--size 256] [--steps 4] [--batch 4] [--repeats 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROMPT = "a lighthouse at dusk, dramatic clouds"
MODELS = ("tiny", "tiny-sd3", "tiny-flux")


def _engine(model: str, models_dir: Path, data_dir: Path, precision: str):
    from bot.config import Config
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": model,
            "MODELS_DIR": str(models_dir),
            "DATA_DIR": str(data_dir),
            "DEVICE": "cpu",
            "PRECISION": precision,
        }
    )
    return load_engine(settings)


def _bare(location: str):
    import torch
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(location, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _time(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(model: str, args: argparse.Namespace, models_dir: Path, data_dir: Path) -> dict[str, float]:
    import torch

    from bot.engine.flow import MAX_SEQUENCE_LENGTH
    from bot.engine.interface import Operation
    from bot.engine.request import GenerationRequest

    auto = _engine(model, models_dir, data_dir, "auto")
    fp32 = _engine(model, models_dir, data_dir, "fp32")
    bare = _bare(auto.source.location)
    family = auto.family
    request = GenerationRequest(
        PROMPT,
        args.size,
        args.size,
        seed=1,
        steps=args.steps,
        guidance_scale=family.default_guidance,
        batch_size=args.batch,
    )
    seeds = request.seeds

    def bare_call() -> None:
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        with torch.inference_mode():
            bare(
                [PROMPT] * len(seeds),
                height=args.size,
                width=args.size,
                num_inference_steps=args.steps,
                guidance_scale=family.default_guidance,
                generator=generators,
                **({"max_sequence_length": MAX_SEQUENCE_LENGTH} if family.is_flow else {}),
            )

    runs = {
        "bot bf16/auto": lambda: auto.generate(Operation.TXT2IMG, request),
        "bot fp32": lambda: fp32.generate(Operation.TXT2IMG, request),
        "bare fp32": bare_call,
    }
    for run in runs.values():  # warm-up: first calls pay for lazy initialisation
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for repeat in range(args.repeats):
        for name in order if repeat % 2 == 0 else reversed(order):
            times[name].append(_time(runs[name]))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        **medians,
        "family": family.name,
        "precision": auto.precision.describe() if auto.precision else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        models_dir, data_dir = Path(scratch) / "models", Path(scratch) / "data"
        rows = [(model, measure(model, args, models_dir, data_dir)) for model in args.models]
    print(
        f"\n{args.batch} images {args.size}px, {args.steps} steps, {args.threads} threads, median of {args.repeats}"
    )
    print("| model | family | bare fp32 s | bot fp32 s | bot auto s | fp32 ÷ bare | auto ÷ bare |")
    print("|---|---|---|---|---|---|---|")
    for model, row in rows:
        bare = row["bare fp32"]
        print(
            f"| {model} | {row['family']} | {bare:.2f} | {row['bot fp32']:.2f} | {row['bot bf16/auto']:.2f} "
            f"| {row['bot fp32'] / bare:.2f} | {row['bot bf16/auto'] / bare:.2f} |"
        )


if __name__ == "__main__":
    main()
