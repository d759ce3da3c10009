"""Video benchmark: seconds of video per second of compute, and peak memory with the image model
AND the video model resident (as in the GPU worker), through `DiffusersEngine.generate(ANIMATE)`.

Configs (each in a fresh subprocess, so peak RSS is its own):
- `tiny`: the embedded tiny image model + the embedded tiny Wan video model, the bot's tiny
  defaults (64 px, VIDEO_FRAMES frames, 4 steps).
- `sd`: SD-sized: the SD 1.5-shaped image model (benchmarks/sd15_shaped.py, full widths) and a Wan
  image-to-video model with the real Wan VAE and a transformer cut from Wan 2.1-1.3B's shape
  (1536 wide, 12 heads, 8960 FFN) to `--sd-layers` layers (18 ≈ 0.8 B parameters, SD 1.5's UNet is
  0.86 B), a 1-layer 4096-wide UMT5 text encoder; random weights, built in code. 256 px, 17 frames.

    python benchmarks/video.py [--configs tiny sd] [--frames 81] [--steps 4] [--sd-layers 18]

On this CPU it says what a clip costs relative to the GPU; see README "Video" for a GPU's needs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def build_sd_video(folder: Path, layers: int) -> Path:
    """A Wan image-to-video pipeline with SD-sized compute (see the module doc), saved to `folder`."""
    marker = folder / "sd_video.json"
    if marker.is_file() and json.loads(marker.read_text()) == {"layers": layers}:
        return folder
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    from bot.engine.tiny_video import build_video_tokenizer

    torch.manual_seed(21)
    tokenizer = build_video_tokenizer()
    text_encoder = UMT5EncoderModel(
        UMT5Config(vocab_size=len(tokenizer), d_model=4096, d_kv=64, d_ff=1024, num_layers=1, num_heads=64)
    )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=12,
        attention_head_dim=128,
        in_channels=36,
        out_channels=16,
        text_dim=4096,
        freq_dim=256,
        ffn_dim=8960,
        num_layers=layers,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
    )
    pipeline = WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=AutoencoderKLWan(),  # Wan 2.1's VAE as released: base 96, z 16
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        transformer=transformer,
    ).to(torch.bfloat16)
    pipeline.save_pretrained(folder)
    marker.write_text(json.dumps({"layers": layers}))
    return folder


def measure(config: str, frames: int, steps: int, layers: int, work: str) -> dict:
    import dataclasses

    import torch
    from PIL import Image

    from bot.config import Config
    from bot.engine.interface import GenerationInputs, Operation
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest
    from bot.engine.video import VideoEngine, VideoSource
    from bot.engine.video_spec import VIDEO_KEY, VideoSpec

    env = {"MODEL": "tiny", "MODELS_DIR": str(Path(work) / "models"), "DEVICE": "cpu", "VIDEO_MODEL": "tiny"}
    resolution, size = 64, 64
    if config == "sd":
        from benchmarks.sd15_shaped import build_sd15_shaped

        env["MODEL"] = str(build_sd15_shaped(Path(work) / "sd15-shaped"))
        env["VIDEO_MODEL"] = str(build_sd_video(Path(work) / "sd-video", layers))
        resolution, size = 256, 256
    started = time.perf_counter()
    engine = load_engine(Config.from_env(env))
    if config == "sd":  # the folder is a Wan pipeline: name it as a folder source (bf16 weights)
        engine.video = VideoEngine(
            VideoSource("folder", env["VIDEO_MODEL"], "sd-video"),
            device=torch.device("cpu"),
            dtype=torch.bfloat16,
        )
    engine.video.pipeline()
    load_seconds = time.perf_counter() - started
    spec = VideoSpec(batch=1, frames=frames, fps=16, steps=steps, resolution=resolution)
    request = GenerationRequest(
        prompt="a lighthouse at dusk, waves rolling in", width=size, height=size, seed=1, steps=steps,
        guidance_scale=5.0, batch_size=1, extra={VIDEO_KEY: spec.to_dict()},
    )  # fmt: skip
    start = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    warm = dataclasses.replace(request, extra={VIDEO_KEY: dataclasses.asdict(spec.with_(frames=5, steps=1))})
    engine.generate(Operation.ANIMATE, warm, GenerationInputs(image=start))
    started = time.perf_counter()
    result = engine.generate(Operation.ANIMATE, request, GenerationInputs(image=start))
    seconds = time.perf_counter() - started
    clip_seconds = len(result.clips[0]) / spec.fps
    return {
        "config": config,
        "size": f"{result.clips[0][0].width}x{result.clips[0][0].height}",
        "frames": len(result.clips[0]),
        "steps": steps,
        "video_seconds": round(clip_seconds, 2),
        "compute_seconds": round(seconds, 2),
        "video_seconds_per_compute_second": round(clip_seconds / seconds, 4),
        "load_seconds": round(load_seconds, 1),
        "video_parameters_millions": round(
            sum(p.numel() for p in engine.video.pipeline().transformer.parameters()) / 1e6, 3
        ),
        "peak_rss_mib_image_and_video_resident": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="+", default=["tiny", "sd"], choices=("tiny", "sd"))
    parser.add_argument("--frames", type=int, default=0, help="0: 81 (tiny) / 17 (sd)")
    parser.add_argument("--steps", type=int, default=0, help="0: 4 (tiny) / 2 (sd)")
    parser.add_argument("--sd-layers", type=int, default=18)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "mj-video-bench"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        frames = args.frames or (81 if args.child == "tiny" else 17)
        steps = args.steps or (4 if args.child == "tiny" else 2)
        print(json.dumps(measure(args.child, frames, steps, args.sd_layers, args.work)))
        return
    for config in args.configs:
        command = [sys.executable, __file__, "--child", config, "--frames", str(args.frames)]
        command += ["--steps", str(args.steps), "--sd-layers", str(args.sd_layers), "--work", args.work]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        print(
            lines[-1] if done.returncode == 0 and lines else f"{config}: failed\n{done.stderr[-2000:]}",
            flush=True,
        )
    with open("/proc/loadavg") as handle:
        print(f"load average: {handle.read().split()[0]} (2 cores shared with other sessions)")


if __name__ == "__main__":
    main()
