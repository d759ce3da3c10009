"""`python -m bot upscale FILE [--scale 2|4] [--model NAME] -o OUT.png`: super-resolution of any
picture with the configured upscaler (UPSCALER, or --model), without diffusion and without a job."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.config import Config
from bot.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("upscale", help="enlarge a picture with the upscaler model (no diffusion)")
    parser.add_argument("file", type=Path, help="the picture to enlarge")
    parser.add_argument("--scale", type=int, choices=(2, 3, 4), default=4, help="enlargement (default 4)")
    parser.add_argument(
        "--model", default=None, help="an UPSCALER value for this run (e.g. realesrgan-x4plus, lanczos)"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the PNG")
    parser.set_defaults(func=upscale)


def upscale(args: argparse.Namespace, settings: Config) -> int:
    from PIL import Image, UnidentifiedImageError

    from bot.engine.device import pick_device
    from bot.engine.upscaler import make_upscaler

    try:
        with Image.open(args.file) as opened:
            picture = opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise ConfigError(f"{args.file}: not a picture this can read ({error})") from None
    device, _ = pick_device(settings.device)
    upscaler = make_upscaler(settings, device, args.model)
    started = time.perf_counter()
    enlarged = upscaler.enlarge(picture, args.scale)
    seconds = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    enlarged.save(args.output)
    print(
        f"{args.output}: {picture.width}x{picture.height} -> {enlarged.width}x{enlarged.height} "
        f"with {upscaler.name} in {seconds:.1f} s"
    )
    return 0
