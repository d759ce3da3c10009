"""A reader for ncnn models (`.param` graph + `.bin` weights), enough to convert them to torch.

The `.param` file is text: a magic line (7767517), `layer_count blob_count`, then one line per
layer: `Type Name n_in n_out in_blobs... out_blobs... key=value...`. Keys are integers; a key
below -23300 holds an array (`-23310=1,2.0e-01` is key 10 with one value 0.2).

The `.bin` file is the layers' weights, one after the other in `.param` order, each layer reading
what it needs (ncnn's `ModelBin::load(size, type)`): type 0 starts with a 4-byte flag word that
says how the data is stored (0x01306B47: fp16, 0x000D4B38: int8, 0: fp32, other: a 256-entry
fp32 table + uint8 indexes), padded to 4 bytes; type 1 is raw fp32. Convolution reads its kernel
as type 0 and its bias as type 1; PReLU reads its slopes as type 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["NcnnFormatError", "NcnnLayer", "read_ncnn"]

MAGIC = 7767517
FLAG_FP16 = 0x01306B47
FLAG_INT8 = 0x000D4B38
ARRAY_KEY_BASE = -23300


class NcnnFormatError(ValueError):
    """The files are not an ncnn model this reader understands."""


@dataclass
class NcnnLayer:
    """One layer of the graph with its parameters and the weights it read from `.bin`."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, float | int | list[float]]
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def param(self, key: int, default: float | int = 0) -> float | int:
        value = self.params.get(key, default)
        if isinstance(value, list):
            raise NcnnFormatError(f"{self.name}: parameter {key} is an array")
        return value


def _number(text: str) -> float | int:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _parse_line(line: str) -> NcnnLayer:
    parts = line.split()
    kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
    inputs = parts[4 : 4 + n_in]
    outputs = parts[4 + n_in : 4 + n_in + n_out]
    params: dict[int, float | int | list[float]] = {}
    for item in parts[4 + n_in + n_out :]:
        key_text, _, value = item.partition("=")
        key = int(key_text)
        if key <= ARRAY_KEY_BASE:
            count, *values = value.split(",")
            if int(count) != len(values):
                raise NcnnFormatError(f"{name}: array {key} says {count} values, has {len(values)}")
            params[ARRAY_KEY_BASE - key] = [float(v) for v in values]
        else:
            params[key] = _number(value)
    return NcnnLayer(kind, name, inputs, outputs, params)


def read_param(path: Path) -> list[NcnnLayer]:
    """The layers of a `.param` file, in file (= execution) order."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines or int(lines[0]) != MAGIC:
        raise NcnnFormatError(f"{path.name} is not an ncnn .param file (magic {MAGIC} missing)")
    layer_count = int(lines[1].split()[0])
    layers = [_parse_line(line) for line in lines[2:]]
    if len(layers) != layer_count:
        raise NcnnFormatError(f"{path.name} declares {layer_count} layers and has {len(layers)}")
    return layers


class _BinReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def _take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise NcnnFormatError("the .bin file ends before the graph's last weights")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def raw_fp32(self, count: int) -> np.ndarray:
        return np.frombuffer(self._take(4 * count), dtype="<f4").copy()

    def flagged(self, count: int) -> np.ndarray:
        """ncnn's `load(count, 0)`: a flag word, then the data in the storage it names."""
        flag_bytes = self._take(4)
        tag = int.from_bytes(flag_bytes, "little")
        if tag == FLAG_FP16:
            padded = (count * 2 + 3) // 4 * 4
            return np.frombuffer(self._take(padded)[: count * 2], dtype="<f2").astype(np.float32)
        if tag == FLAG_INT8:
            raise NcnnFormatError("int8-quantised ncnn weights are not supported")
        if tag == 0:
            return self.raw_fp32(count)
        if sum(flag_bytes) != 0:  # a 256-entry codebook, then one uint8 index per value
            table = self.raw_fp32(256)
            padded = (count + 3) // 4 * 4
            indexes = np.frombuffer(self._take(padded)[:count], dtype=np.uint8)
            return table[indexes]
        raise NcnnFormatError(f"unknown ncnn weight flag {tag:#x}")


def _read_weights(layer: NcnnLayer, reader: _BinReader) -> None:
    if layer.type == "Convolution":
        if layer.param(8):
            raise NcnnFormatError(f"{layer.name}: int8 convolutions are not supported")
        out_channels = int(layer.param(0))
        kernel_w = int(layer.param(1))
        kernel_h = int(layer.param(11, kernel_w))
        size = int(layer.param(6))
        in_channels, rest = divmod(size, out_channels * kernel_w * kernel_h)
        if rest:
            raise NcnnFormatError(f"{layer.name}: weight size {size} does not fit its shape")
        # ncnn keeps PyTorch's order: out, in, kernel height, kernel width.
        shape = (out_channels, in_channels, kernel_h, kernel_w)
        layer.weights["weight"] = reader.flagged(size).reshape(shape)
        if layer.param(5):
            layer.weights["bias"] = reader.raw_fp32(out_channels)
    elif layer.type == "PReLU":
        layer.weights["weight"] = reader.raw_fp32(int(layer.param(0)))
    elif layer.type in {"InnerProduct", "Deconvolution", "ConvolutionDepthWise", "BatchNorm", "Scale"}:
        raise NcnnFormatError(f"{layer.name}: ncnn layer {layer.type} is not supported by this reader")


def read_ncnn(param_path: Path, bin_path: Path) -> list[NcnnLayer]:
    """The graph of `param_path` with each layer's weights read from `bin_path`.

    NcnnFormatError when the files disagree (the `.bin` too short or too long for the graph).
    """
    layers = read_param(param_path)
    reader = _BinReader(bin_path.read_bytes())
    for layer in layers:
        _read_weights(layer, reader)
    if reader.offset != len(reader.data):
        raise NcnnFormatError(
            f"{bin_path.name}: {len(reader.data) - reader.offset} bytes left after the graph's weights"
        )
    return layers
