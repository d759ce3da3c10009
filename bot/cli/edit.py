"""`python -m bot edit OPERATION JOB [N] …`: the buttons under a single image, run locally.

The operations are the action table's (`bot/jobs/actions.py`, each row's `cli` name): vary-strong,
vary-subtle, region, upscale-subtle, upscale-creative, zoom, square, pan, retexture, instruct, animate, extend. The job goes through the
one admission (`bot/governance/admission.py`) as the local member (user 0, in no server: no
server's rules; a `--prompt` is read like a Remix, built-in banned words included):

    python -m bot edit zoom   JOB 2 --zoom 1.5            # Zoom Out 1.5x of image #2
    python -m bot edit zoom   JOB 1 --prompt "a fox --ar 16:9 --zoom 1.2"   # Custom Zoom
    python -m bot edit square JOB 3                       # Make Square
    python -m bot edit pan    JOB 1 --direction left      # ⬅️
    python -m bot edit region JOB 1 --cells B2,B3 --prompt "a red door"     # Vary (Region)
    python -m bot edit region JOB 1 --mask mask.png       # white = regenerate
    python -m bot edit upscale-subtle JOB 4               # Upscale (Subtle)
    python -m bot edit retexture JOB 2 --prompt "a marble statue"       # Retexture
    python -m bot edit instruct  JOB 1 --prompt "red jacket --no hat"   # Edit (instruction)
    python -m bot edit remove-background JOB 1 -o cut.png # RGBA, the background transparent
    python -m bot edit smart-select JOB 1 --point 120,80 -o mask.png   # the object under a click
    python -m bot edit animate JOB 1 --motion high --loop -o clip.mp4       # video: see cli/video.py
    python -m bot edit extend JOB 1 -o longer.mp4

JOB is a job id from DATA_DIR (printed by `imagine` and by `edit`), N the image (1-based). The
new job's grid goes to `-o` and its id is printed, so edits can be chained (pan twice).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import shutil
import sys
from pathlib import Path

from bot.cli.imagine import CLI_USER_ID, _deliveries_done
from bot.cli.video import VIDEO_OPERATIONS, add_video_arguments, copy_clips, video_job
from bot.config import Config
from bot.errors import InvalidParameter
from bot.jobs.actions import Action, Form, cli_actions, resolve

# `edit` subcommand → its rows of the action table (Pan's four share one: `--direction` picks).
OPERATIONS = cli_actions()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="Vary, Upscale, Zoom Out, Make Square, Pan, Vary (Region), Retexture, Edit, Remove background, "
        "Smart Select, Animate or Extend a stored job",
    )
    parser.add_argument("operation", choices=list(OPERATIONS))
    parser.add_argument("job", help="id of a finished job in DATA_DIR")
    parser.add_argument("image", nargs="?", type=int, default=1, help="image number, 1-4 (default 1)")
    parser.add_argument("--zoom", type=float, default=2.0, help="zoom: 1-2 (default 2)")
    parser.add_argument("--direction", choices=("left", "right", "up", "down"), help="pan: which way")
    parser.add_argument("--cells", default="", help="region: grid cells A1…D4, comma-separated")
    parser.add_argument("--mask", type=Path, help="region: a mask image, white = regenerate")
    parser.add_argument("--point", help="smart-select: X,Y in the image's pixels")
    parser.add_argument("--box", help="smart-select: LEFT,TOP,RIGHT,BOTTOM in the image's pixels")
    parser.add_argument(
        "--prompt",
        help="remix: a new prompt (with parameters; --zoom for zoom); retexture: the new look; instruct: the change",
    )
    parser.add_argument("-o", "--output", type=Path, help="grid file to write (edit.png; video: clip.mp4)")
    add_video_arguments(parser)
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Config) -> int:
    if args.output is None:
        args.output = Path("clip.mp4" if args.operation in VIDEO_OPERATIONS else "edit.png")
    if args.operation == "pan" and args.direction is None:
        raise InvalidParameter("Pan needs `--direction left|right|up|down`.")
    if args.operation == "region":
        args.mask_bytes = _mask_bytes(args)  # a bad selection fails before the model loads
    args.select_mode = _select_mode(args) if args.operation == "smart-select" else None
    return asyncio.run(_run(args, settings))


def _mask_bytes(args: argparse.Namespace) -> bytes:
    from bot.engine.canvas import cell_mask, cells_of_labels

    if args.mask is not None:
        try:
            return args.mask.read_bytes()
        except OSError as error:
            raise InvalidParameter(f"Cannot read the mask {args.mask}: {error.strerror}.") from None
    labels = [label for label in args.cells.split(",") if label.strip()]
    if not labels:
        raise InvalidParameter("Vary (Region) needs `--cells A1,B2,…` or `--mask FILE`.")
    try:
        cells = cells_of_labels(labels)
    except ValueError:
        raise InvalidParameter(f"Unknown cell in `{args.cells}`: cells are A1 to D4.") from None
    buffer = io.BytesIO()
    cell_mask((256, 256), cells).save(buffer, format="PNG")
    return buffer.getvalue()


def _select_mode(args: argparse.Namespace) -> str:
    """Smart Select's prompt (`point X,Y` / `box L,T,R,B`) from `--point` or `--box`."""
    from bot.jobs.editor_jobs import select_mode

    try:
        if args.point:
            x, y = (int(value) for value in args.point.split(","))
            return select_mode(point=(x, y))
        if args.box:
            left, top, right, bottom = (int(value) for value in args.box.split(","))
            return select_mode(box=(left, top, right, bottom))
    except ValueError:
        raise InvalidParameter("Smart Select takes `--point X,Y` or `--box LEFT,TOP,RIGHT,BOTTOM`.") from None
    return select_mode()


def chosen_action(args: argparse.Namespace) -> Action:
    """The action-table row an `edit` command runs: Pan's by `--direction`, Zoom's by `--prompt`
    (Custom Zoom) or `--zoom` (any factor from 1 to 2)."""
    rows = OPERATIONS[args.operation]
    if args.operation == "pan":
        return next(row for row in rows if row.mode == args.direction)
    if args.operation in VIDEO_OPERATIONS:
        return next(row for row in rows if row.mode == args.motion)
    if args.operation == "zoom":
        if args.prompt is not None:
            custom = resolve("custom_zoom")
            assert custom is not None and custom.form is Form.CUSTOM_ZOOM
            return custom
        (zoom,) = rows
        return dataclasses.replace(zoom, mode=f"{args.zoom:g}")
    (row,) = rows
    return row


async def _run(args: argparse.Namespace, settings: Config) -> int:
    from bot.app import open_services
    from bot.governance.admission import Place
    from bot.jobs.events import Failed, Finished, Progress
    from bot.jobs.models import Job, JobImage, JobStatus

    services = await open_services(settings)  # BACKEND=thread or ray, as for the bot
    service, admission = services.jobs, services.admission
    written: dict[str, Path] = {}
    written_clips: list[Path] = []
    failed = False

    async def copy_to_output(job: Job, images: list[JobImage]) -> None:
        """The CLI's delivery: copy the new grid to the output path."""
        if job.id not in written or job.status is not JobStatus.DONE:
            return
        if args.operation in VIDEO_OPERATIONS:
            written_clips.extend(await copy_clips(service.job_folder(job.id), len(images), args.output))
            return
        source = service.grid_path(job.id) if len(images) > 1 else images[0].path
        args.output.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, source, args.output)

    service.add_delivery_handler(copy_to_output, name="cli-output")
    try:
        parent = await services.library.job(args.job)
        if parent is None:
            raise InvalidParameter(f"There is no job {args.job} in {settings.data_dir}.")
        await service.start(recover=False)
        # The local member in no server: no server's rules, the prompt read like a Remix.
        new_jobs = await admission.action_jobs(
            parent,
            chosen_action(args),
            args.image,
            Place(CLI_USER_ID),
            text=args.prompt,
            mode=getattr(args, "select_mode", None),
            mask=getattr(args, "mask_bytes", None),
            meta={"source": "cli"},
        )
        if len(new_jobs) != 1:
            raise InvalidParameter("A remix prompt for an edit must make exactly one job.")
        new_job = video_job(args, parent, new_jobs[0]) if args.operation in VIDEO_OPERATIONS else new_jobs[0]
        job = await admission.submit(new_job)
        written[job.id] = args.output
        async for event in service.subscribe(job.id):
            if isinstance(event, Progress):
                print(f"{args.operation}: {event.percent}%", file=sys.stderr, flush=True)
            elif isinstance(event, Finished) and args.operation not in VIDEO_OPERATIONS:
                size = f"{event.images[0].width}x{event.images[0].height}"
                print(f"{args.output}: job {job.id} ({args.operation} of image #{args.image}, {size})")
            elif isinstance(event, Failed):
                failed = True
                print(f"Job failed: {event.message}", file=sys.stderr)
        if not failed:
            await _deliveries_done(services, [job.id])
            for clip in written_clips:
                print(f"{clip}: clip of job {job.id}")
    finally:
        await service.stop(grace=settings.shutdown_grace)
        await services.close()
    return 1 if failed else 0
