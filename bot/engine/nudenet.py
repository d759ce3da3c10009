"""The NSFW checker on NudeNet's detector (`NSFW_CHECKER=nudenet`), offline.

The `nudenet` wheel ships its ONNX detector (`320n.onnx`, a YOLOv8n trained on 18 body-part
classes, about 12 MB) and runs on onnxruntime. Its own wrapper needs OpenCV for pre- and
post-processing; this module does the same steps with PIL and numpy (pad to a square at the
bottom right, resize to 320, RGB in [0, 1]; boxes above 0.2, class-agnostic NMS at IoU 0.45), so
OpenCV is never imported. An image is flagged when a detection of a class marked True in
`FLAGGED_CLASSES` scores at least `FLAG_SCORE`.

The session is created when the GPU worker starts (`load`; else on the first check), then kept.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "FLAGGED_CLASSES",
    "FLAG_SCORE",
    "NUDENET_LABELS",
    "Detection",
    "NudeNetChecker",
    "nudenet_model_path",
]

log = logging.getLogger(__name__)

# The detector's classes in its output order (nudenet 3.4's labels).
NUDENET_LABELS = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
# Which detections flag an image (the README's table): exposed genitals, anus, female breasts and
# buttocks do; faces, feet, armpits, bellies, a bare male chest and anything covered do not.
FLAGGED_CLASSES: dict[str, bool] = {
    "FEMALE_GENITALIA_EXPOSED": True,
    "MALE_GENITALIA_EXPOSED": True,
    "ANUS_EXPOSED": True,
    "FEMALE_BREAST_EXPOSED": True,
    "BUTTOCKS_EXPOSED": True,
    "MALE_BREAST_EXPOSED": False,
    "BELLY_EXPOSED": False,
    "ARMPITS_EXPOSED": False,
    "FEET_EXPOSED": False,
    "FACE_FEMALE": False,
    "FACE_MALE": False,
    "FEMALE_GENITALIA_COVERED": False,
    "FEMALE_BREAST_COVERED": False,
    "BUTTOCKS_COVERED": False,
    "ANUS_COVERED": False,
    "BELLY_COVERED": False,
    "ARMPITS_COVERED": False,
    "FEET_COVERED": False,
}
FLAG_SCORE = 0.5
MIN_SCORE = 0.2  # NudeNet's own cut for reporting a box at all
NMS_IOU = 0.45
INPUT_SIZE = 320


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: tuple[float, float, float, float]  # x, y, width, height in the model's 320 px square

    @property
    def flags(self) -> bool:
        return FLAGGED_CLASSES.get(self.label, False) and self.score >= FLAG_SCORE


def nudenet_model_path() -> Path | None:
    """The wheel's `320n.onnx`, found without importing nudenet (its import loads OpenCV)."""
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "320n.onnx"
    return path if path.is_file() else None


def _square_input(image: Image.Image) -> np.ndarray:
    """NudeNet's input: the picture padded black at the right/bottom to a square, 320 px, NCHW RGB."""
    rgb = image.convert("RGB")
    side = max(rgb.size)
    canvas = Image.new("RGB", (side, side))
    canvas.paste(rgb, (0, 0))
    small = canvas.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
    return (np.asarray(small, dtype=np.float32) / 255.0).transpose(2, 0, 1)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y2 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return overlap / (box[2] * box[3] + others[:, 2] * others[:, 3] - overlap + 1e-9)


def detections(output: np.ndarray) -> list[Detection]:
    """The detections in one image's raw output (4 box values + one score per class, per anchor)."""
    rows = output.T  # anchors x (4 + classes)
    scores = rows[:, 4:]
    best = scores.max(axis=1)
    keep = best >= MIN_SCORE
    rows, best, classes = rows[keep], best[keep], scores[keep].argmax(axis=1)
    boxes = np.stack(
        [rows[:, 0] - rows[:, 2] / 2, rows[:, 1] - rows[:, 3] / 2, rows[:, 2], rows[:, 3]], axis=1
    )
    found: list[Detection] = []
    order = np.argsort(-best)
    while order.size:
        first, order = order[0], order[1:]
        found.append(
            Detection(NUDENET_LABELS[classes[first]], float(best[first]), tuple(boxes[first].tolist()))
        )
        order = order[_iou(boxes[first], boxes[order]) <= NMS_IOU]
    return found


class NudeNetChecker:
    """`ImageChecker` on NudeNet's ONNX detector; the session is created on the first check."""

    name = "nudenet"

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.loads = 0
        self._session: Any = None
        self._lock = threading.Lock()

    def _ensure_session(self) -> Any:
        if self._session is None:
            import onnxruntime

            self.loads += 1
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            self._session = onnxruntime.InferenceSession(
                str(self.model_path), options, providers=["CPUExecutionProvider"]
            )
            log.info("NSFW checker: NudeNet detector loaded from %s", self.model_path)
        return self._session

    def load(self) -> None:
        """Create the detector's session now (the worker does at start); raises what onnxruntime
        raises when it cannot."""
        with self._lock:
            self._ensure_session()

    def detect(self, images: Sequence[Image.Image]) -> list[list[Detection]]:
        """Every image's detections (blocking: call it on the worker thread)."""
        if not images:
            return []
        with self._lock:
            session = self._ensure_session()
            batch = np.stack([_square_input(image) for image in images])
            (output,) = session.run(None, {session.get_inputs()[0].name: batch})
        return [detections(one) for one in output]

    def check(self, images: Sequence[Image.Image]) -> list[bool]:
        """One verdict per image: True when a flagged class is detected (see FLAGGED_CLASSES)."""
        return [any(found.flags for found in image) for image in self.detect(images)]
