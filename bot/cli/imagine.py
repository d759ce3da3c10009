"""`python -m bot imagine "PROMPT" -o grid.png`: one job, locally, through the engine."""

from __future__ import annotations

import argparse
import logging
import random
import uuid
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("imagine", help="render one prompt to a 2x2 grid, locally")
    parser.add_argument("prompt", help="the prompt, as typed after /imagine")
    parser.add_argument("-o", "--output", type=Path, default=Path("grid.png"), help="grid file to write")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Settings) -> int:
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest
    from bot.images import GRID_FILE, save_result

    engine = load_engine(settings)
    size = engine.family.native_size
    request = GenerationRequest(
        prompt=args.prompt,
        width=size,
        height=size,
        seed=random.randrange(2**32),
        steps=settings.steps or engine.family.default_steps,
        guidance_scale=engine.family.default_guidance,
    )
    job_folder = settings.images_dir / str(uuid.uuid4())
    result = engine.txt2img(request)
    paths = save_result(job_folder, request, result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes((job_folder / GRID_FILE).read_bytes())
    print(f"{args.output} ({len(paths)} images in {job_folder}, seeds {result.seeds[0]}..{result.seeds[-1]})")
    return 0
