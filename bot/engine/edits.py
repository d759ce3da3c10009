"""The engine's editor operations: Retexture (ControlNet on a depth map or edges) and instruction
edits (LEDITS++ on the loaded weights, or INSTRUCT_MODEL's InstructPix2Pix pipeline when set).

`DiffusersEngine.generate` hands `Operation.RETEXTURE` and `Operation.INSTRUCT` here. Each
pipeline and model is made on first use, on the worker thread that owns the engine, and kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL.Image import Image

from bot.engine.instruct import edit_image, instruct_pipeline
from bot.engine.instruct_pix2pix import pix2pix_edit, pix2pix_pipeline
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback
from bot.engine.retexture import EDGES, StructureEstimator, controlnet_pipeline
from bot.errors import JobFailed

if TYPE_CHECKING:
    from bot.config import Config
    from bot.engine.engine import DiffusersEngine

__all__ = ["CONTROL_SCALE", "EditModels", "ImageEdits", "edit_models", "retexture_ready"]

log = logging.getLogger(__name__)

# How strongly the ControlNet holds the structure (diffusers' `controlnet_conditioning_scale`).
CONTROL_SCALE = 0.9
TINY = "tiny"


@dataclass(frozen=True)
class EditModels:
    """CONTROLNET_MODEL and DEPTH_MODEL as the engine uses them ("" : Retexture is off), and
    INSTRUCT_MODEL ("": instruction edits by LEDITS++ on the loaded model)."""

    controlnet: str = ""
    depth: str = ""
    models_dir: Path = Path("models")
    instruct: str = ""

    def tiny_folder(self, value: str, name: str) -> Path | None:
        return self.models_dir / name if value.strip().lower() == TINY else None


def edit_models(settings: Config) -> EditModels:
    """The editor's models from the settings."""
    return EditModels(
        settings.controlnet_model.strip(),
        settings.depth_model.strip(),
        settings.models_dir,
        settings.instruct_model.strip(),
    )


def retexture_ready(settings: Config) -> str | None:
    """Why Retexture cannot run on this bot (a Midjourney-style sentence), or None when it can."""
    if not settings.controlnet_model.strip():
        return "Retexture is not set up on this bot (CONTROLNET_MODEL is empty)."
    if not settings.depth_model.strip():
        return "Retexture is not set up on this bot (DEPTH_MODEL is empty: a depth model or `edges`)."
    return None


class ImageEdits:
    """Runs RETEXTURE and INSTRUCT on one engine's pipelines."""

    def __init__(self, engine: DiffusersEngine, models: EditModels) -> None:
        self.engine = engine
        self.models = models
        self._controlnet_pipe: Any = None
        self._instruct_pipe: Any = None
        self._pix2pix_pipe: Any = None
        self._pix2pix_failed: JobFailed | None = None
        self._structure: StructureEstimator | None = None

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs,
        on_step: StepCallback | None,
    ) -> GenerationResult:
        """Run RETEXTURE or INSTRUCT on `inputs.image`."""
        if inputs.image is None:
            raise ValueError(f"{operation} needs an input image")
        if operation is Operation.RETEXTURE:
            return self.retexture(request, inputs.image, on_step)
        if operation is Operation.INSTRUCT:
            return self.instruct(request, inputs.image, on_step)
        raise ValueError(f"not an editor operation: {operation!r}")

    # ---- Retexture ----------------------------------------------------------------------------

    @property
    def structure(self) -> StructureEstimator:
        if self._structure is None:
            depth = self.models.depth
            if not depth:
                raise JobFailed("Retexture is not set up on this bot (DEPTH_MODEL is empty).")
            folder = self.models.tiny_folder(depth, "tiny-depth")
            model = EDGES if depth.lower() == EDGES else depth
            self._structure = StructureEstimator(model, self.engine.device, folder)
        return self._structure

    @property
    def controlnet_pipe(self) -> Any:
        if self._controlnet_pipe is None:
            name = self.models.controlnet
            if not name:
                raise JobFailed("Retexture is not set up on this bot (CONTROLNET_MODEL is empty).")
            engine = self.engine
            self._controlnet_pipe = controlnet_pipeline(
                engine.txt2img_pipe,
                name,
                is_sdxl=engine.family.is_sdxl,
                tiny_folder=self.models.tiny_folder(name, "tiny-controlnet"),
                dtype=engine.dtype,
            )
        return self._controlnet_pipe

    def retexture(
        self, request: GenerationRequest, image: Image, on_step: StepCallback | None
    ) -> GenerationResult:
        """The prompt's look on the input's structure: txt2img through the ControlNet, its control
        image computed from `image` at the request's size (`details["control"]` keeps it)."""
        source = image.convert("RGB").resize((request.width, request.height))
        control = self.structure.control_image(source)
        pipe = self.controlnet_pipe
        result = self.engine._run(
            pipe, request, on_step, image=control, controlnet_conditioning_scale=CONTROL_SCALE
        )
        result.details["structure"] = self.structure.method
        return result

    # ---- instruction edits ----------------------------------------------------------------------

    def instruct(
        self, request: GenerationRequest, image: Image, on_step: StepCallback | None
    ) -> GenerationResult:
        """`request.prompt` applied to `image`, one edit per seed: by INSTRUCT_MODEL when set,
        else by LEDITS++ on the loaded model."""
        engine = self.engine
        if self.models.instruct:
            return self._pix2pix(request, image, on_step)
        if self._instruct_pipe is None:
            self._instruct_pipe = instruct_pipeline(engine.txt2img_pipe, is_sdxl=engine.family.is_sdxl)
        source_prompt = str(request.extra.get("source_prompt", ""))
        with engine._autocast():
            images, seconds = edit_image(
                self._instruct_pipe, request, image, on_step, source_prompt=source_prompt
            )
        return GenerationResult(
            images=images,
            seeds=request.seeds,
            model_name=engine.model_name,
            sampler="DPM++ SDE (LEDITS++)",
            steps=request.steps,
            guidance_scale=request.guidance_scale,
            seconds=seconds,
            details={"method": "ledits++"},
        )

    def _pix2pix(
        self, request: GenerationRequest, image: Image, on_step: StepCallback | None
    ) -> GenerationResult:
        engine = self.engine
        if self._pix2pix_failed is not None:  # a failed load is not tried again for every edit
            raise self._pix2pix_failed
        if self._pix2pix_pipe is None:
            name = self.models.instruct
            try:
                self._pix2pix_pipe = pix2pix_pipeline(
                    name,
                    tiny_folder=self.models.tiny_folder(name, "tiny-instruct-pix2pix"),
                    device=engine.device,
                    dtype=engine.dtype,
                )
            except JobFailed as failed:
                self._pix2pix_failed = failed
                raise
        with engine._autocast():
            images, seconds = pix2pix_edit(self._pix2pix_pipe, request, image, on_step)
        return GenerationResult(
            images=images,
            seeds=request.seeds,
            model_name=self.models.instruct,
            sampler="InstructPix2Pix",
            steps=request.steps,
            guidance_scale=request.guidance_scale,
            seconds=seconds,
            details={"method": "instructpix2pix"},
        )
