"""Editing jobs against /imagine at the same output size (a script, not a test).

    .venv/bin/python benchmarks/edit.py [--size 256] [--steps 20] [--repeats 3] [--threads 1]

On the embedded tiny model (real diffusers pipelines), for one output size: seconds per 4-image
/imagine grid (txt2img), and per Zoom Out 2x, Pan ⬅️ and Vary (Region) grid (the inpaint
pipeline made with `from_pipe`, pre-fill, feathering and paste-back included), each divided by the
txt2img time. The layouts are those of a model family whose native side is `--size`, so every
output is `--size` pixels square-ish, as on a real model. Runs alternate (ABCD / DCBA) and the
median is reported, because the same call swings by ±15% on a shared machine. Outpaint runs at
strength 0.95 and Vary (Region) at 0.9, i.e. 95% / 90% of the steps: a ratio near that is
"no overhead".
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from bot.config import Config
    from bot.engine.canvas import cell_mask, pan_layout, zoom_layout
    from bot.engine.family import TINY
    from bot.engine.interface import GenerationInputs, Operation
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest
    from bot.engine.tiny import build_tiny_model
    from bot.jobs.derive import OUTPAINT_STRENGTH, REGION_STRENGTH

    models_dir = Path(tempfile.mkdtemp(prefix="bench-models-"))
    build_tiny_model(models_dir / "tiny-sd")
    engine = load_engine(Config.from_env({"MODEL": "tiny", "MODELS_DIR": str(models_dir), "DEVICE": "cpu"}))
    family = replace(TINY, native_size=args.size)
    base = GenerationRequest(
        prompt="a lighthouse at dusk", width=args.size, height=args.size, seed=1, steps=args.steps
    )
    original = engine.txt2img(replace(base, batch_size=1, steps=2)).images[0]
    zoom = zoom_layout(original.size, 2.0, family)
    pan = pan_layout(original.size, "left", family)
    assert pan is not None
    mask = cell_mask(original.size, [5, 6, 9, 10])

    def outpaint(layout):
        request = replace(base, width=layout.width, height=layout.height, strength=OUTPAINT_STRENGTH)
        return lambda: engine.generate(
            Operation.OUTPAINT, request, GenerationInputs(image=original, placement=layout.box)
        )

    runs = {
        "imagine": lambda: engine.generate(Operation.TXT2IMG, base),
        "zoom": outpaint(zoom),
        "pan": outpaint(pan),
        "region": lambda: engine.generate(
            Operation.REGION,
            replace(base, strength=REGION_STRENGTH),
            GenerationInputs(image=original, mask=mask),
        ),
    }
    for run in runs.values():  # warm up every pipeline once
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(args.repeats):
        order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
        for name in order:
            started = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - started)
    imagine = statistics.median(seconds["imagine"])
    sizes = {"imagine": base, "zoom": zoom, "pan": pan, "region": base}
    print(f"{'job':>8} {'size':>9} {'s/grid':>8} {'÷ imagine':>10}")
    for name, values in seconds.items():
        size = f"{sizes[name].width}x{sizes[name].height}"
        print(
            f"{name:>8} {size:>9} {statistics.median(values):>8.2f} {statistics.median(values) / imagine:>10.2f}"
        )


if __name__ == "__main__":
    main()
