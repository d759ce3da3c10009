"""`python -m bot upload FILE [--prompt TEXT]`: store an outside picture as a job and print its id.

The picture follows the upload rules (bot/governance/uploads.py: size, format sniffed, pixel limit
before decoding) and becomes image #1 of a finished job owned by the local member, with no GPU
time; then every single-image edit works on it:

    python -m bot upload photo.jpg --prompt "a lighthouse"     # prints the job id
    python -m bot edit vary-subtle JOB 1 -o vary.png
    python -m bot edit remove-background JOB 1 -o cut.png
    python -m bot edit smart-select JOB 1 --point 120,80 -o mask.png
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.imagine import CLI_USER_ID
from bot.config import Config
from bot.errors import InvalidLink


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("upload", help="store a picture as a job (then edit it) and print its id")
    parser.add_argument("file", type=Path, help="a PNG, JPEG, WebP or GIF")
    parser.add_argument("--prompt", default="", help="what the picture shows (used by Vary, Zoom, …)")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Config) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise InvalidLink(f"Cannot read {args.file}: {error.strerror}.") from None
    return asyncio.run(_run(args, settings, data))


async def _run(args: argparse.Namespace, settings: Config, data: bytes) -> int:
    from bot.app import open_services
    from bot.governance.admission import Place

    services = await open_services(settings)
    try:
        job = await services.uploads.upload(
            args.file.name, data, Place(CLI_USER_ID), prompt=args.prompt, meta={"source": "cli"}
        )
    finally:
        await services.close()
    size = job.generation_request
    print(f"{job.id} ({args.file.name} as upload, {size.width}x{size.height})")
    return 0
