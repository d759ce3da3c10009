"""`python -m bot imagine "PROMPT" -o grid.png`: one job, locally, through the engine."""

from __future__ import annotations

import argparse
import logging
import random
import uuid
from dataclasses import replace
from pathlib import Path

from bot.errors import InvalidPrompt
from bot.settings import Settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("imagine", help="render one prompt to a 2x2 grid, locally")
    parser.add_argument("prompt", help="the prompt, as typed after /imagine (parameters included)")
    parser.add_argument("-o", "--output", type=Path, default=Path("grid.png"), help="grid file to write")
    parser.set_defaults(func=execute)


def output_paths(output: Path, count: int) -> list[Path]:
    """`grid.png` for one job; `grid-1.png`, `grid-2.png`, … for permutations and --repeat."""
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{n}{output.suffix}") for n in range(1, count + 1)]


def execute(args: argparse.Namespace, settings: Settings) -> int:
    from bot.engine.loader import load_engine
    from bot.images import GRID_FILE, save_result
    from bot.prompt import context_from_settings, expand_prompt

    context = context_from_settings(settings)
    jobs = expand_prompt(args.prompt, context)  # bad prompts fail before the model loads
    if any(job.image_urls for job in jobs):
        raise InvalidPrompt("image prompts need the bot (it downloads them); use text here")
    engine = load_engine(settings)
    context = replace(context, family=engine.family)
    jobs = expand_prompt(args.prompt, context)
    for job, output in zip(jobs, output_paths(args.output, len(jobs)), strict=True):
        request = job.to_generation(seed=job.seed if job.seed is not None else random.randrange(2**32))
        folder = settings.images_dir / str(uuid.uuid4())
        result = engine.txt2img(request)
        save_result(folder, request, result)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes((folder / GRID_FILE).read_bytes())
        print(
            f"{output}: {job.display_prompt} ({request.width}x{request.height}, seed {request.seed}, {folder})"
        )
    return 0
