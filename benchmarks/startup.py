"""Start-up of the bot's engine against a bare diffusers load, side by side, each in a fresh
process on an SD 1.5-shaped random-weight model built in code (benchmarks/sd15_shaped.py):

- bot:  `load_engine` (what the GPU worker does at start: the pipeline, img2img/inpaint views
        sharing its weights, a warm-up only where one pays (none on an eager CPU); upscaler,
        describe, IP-Adapter and video models load on first use) → "ready", then the first image;
- bare: `StableDiffusionPipeline.from_pretrained(folder)` → "ready", then the same image;
- front: `python -m bot run` in local mode (the web app, no Discord token): seconds from
        spawning it to the web app answering (front ready: /imagine is accepted and waits for
        the model) and to its "Ready." line (engine ready). No image.

Printed: seconds from process start to import done, to ready, to the first image, and the
process' peak RSS. Runs alternate (bot, bare, front, front, bare, bot) so drift favours none.

    python benchmarks/startup.py [--model-dir DIR] [--narrow 1] [--size 512] [--steps 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _front(args: argparse.Namespace) -> dict:
    """`python -m bot run` in local mode: spawn → the web app answers → "Ready." printed."""
    import urllib.request

    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MODEL": str(args.model_dir),
        "MODELS_DIR": str(args.model_dir.parent),
        "DATA_DIR": tempfile.mkdtemp(prefix="startup-front-"),
        "DEVICE": "cpu",
        "WEB_PORT": str(port),
        "DISCORD_TOKEN": "",
        "OMP_NUM_THREADS": str(args.threads),
    }
    spawned = time.perf_counter()
    command = [sys.executable, "-m", "bot", "--env-file", os.devnull, "run"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    front = None
    try:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        output = b""
        while b"Ready" not in output:
            if process.poll() is not None:
                raise RuntimeError(f"python -m bot run exited:\n{output.decode(errors='replace')[-2000:]}")
            output += process.stdout.read() or b""
            if front is None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                    front = time.perf_counter() - spawned
                except OSError:
                    pass
            time.sleep(0.1)
        ready = time.perf_counter() - spawned
    finally:
        process.terminate()
        process.wait(60)
    return {"front_ready_s": front if front is not None else ready, "engine_ready_s": ready}


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
    rows: dict[str, list[dict]] = {"bot": [], "bare": [], "front": []}
    print("load average before:", os.getloadavg(), flush=True)
    for mode in ("bot", "bare", "front", "front", "bare", "bot"):
        rows[mode].append(_front(args) if mode == "front" else _run(args, mode))
        print(mode, rows[mode][-1], flush=True)
    print("load average after:", os.getloadavg(), flush=True)
    means = {
        mode: {key: sum(run[key] for run in runs) / len(runs) for key in runs[0]}
        for mode, runs in rows.items()
    }
    print(f"\n{'':<6} {'import s':>9} {'ready s':>8} {'1st image s':>12} {'peak RSS MiB':>13}")
    for mode in ("bot", "bare"):
        mean = means[mode]
        print(
            f"{mode:<6} {mean['import_s']:9.1f} {mean['ready_s']:8.1f} {mean['first_image_s']:12.1f} "
            f"{mean['peak_rss_mib']:13.0f}"
        )
    front = means["front"]
    print(
        f"\npython -m bot run (local mode): web app answers at {front['front_ready_s']:.1f} s, "
        f"model ready at {front['engine_ready_s']:.1f} s"
    )
    bot, bare = means["bot"], means["bare"]
    print(
        f"bot ÷ bare: ready {bot['ready_s'] / bare['ready_s']:.2f}, "
        f"first image {bot['first_image_s'] / bare['first_image_s']:.2f}"
    )


if __name__ == "__main__":
    main()
