"""The engine's image-prompt operations: references (IP-Adapter or fallback), describe, shorten.

`DiffusersEngine.generate` hands `Operation.REFERENCE`, `DESCRIBE` and `SHORTEN` here. Each
loads what it needs on first use, on the worker thread that owns the engine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.engine.describe import DescribeModels, Describer, resolve_describe_models
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import (
    FALLBACK_METHOD,
    IP_ADAPTER_METHOD,
    IPAdapterReferences,
    IPAdapterSource,
    adapter_id,
    average_latent_image,
    resolve_ip_adapter,
)
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback, StepProgress
from bot.engine.shorten import analyse_prompt
from bot.errors import JobFailed

if TYPE_CHECKING:
    from bot.config import Config
    from bot.engine.engine import DiffusersEngine

__all__ = ["ImagePromptModels", "ImagePrompts", "image_prompt_models"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImagePromptModels:
    """The optional components: IP_ADAPTER and DESCRIBE_MODEL/DESCRIBE_CLIP (None: not configured)."""

    ip_adapter: IPAdapterSource | None = None
    describe: DescribeModels | None = None


def image_prompt_models(settings: Config, family: str) -> ImagePromptModels:
    """IP_ADAPTER, IP_ADAPTER_WEIGHT, DESCRIBE_MODEL and DESCRIBE_CLIP for a model of `family`."""
    describe = None
    if settings.describe_model:
        describe = resolve_describe_models(
            settings.describe_model, settings.describe_clip, settings.models_dir
        )
    return ImagePromptModels(
        ip_adapter=resolve_ip_adapter(
            settings.ip_adapter, settings.models_dir, settings.ip_adapter_weight, family
        ),
        describe=describe,
    )


class ImagePrompts:
    """Runs the image-prompt operations on one engine's pipelines."""

    def __init__(self, engine: DiffusersEngine, models: ImagePromptModels) -> None:
        self.engine = engine
        self.models = models
        self.adapter = (
            IPAdapterReferences(engine.txt2img_pipe, models.ip_adapter, engine.family.base)
            if models.ip_adapter is not None
            else None
        )
        self.describer = Describer(models.describe, engine.device) if models.describe is not None else None

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs,
        on_step: StepCallback | None,
    ) -> GenerationResult:
        """Run REFERENCE, DESCRIBE, SHORTEN or STYLE_EMBED."""
        if operation is Operation.REFERENCE:
            return self.references(request, inputs, on_step)
        if operation is Operation.DESCRIBE:
            return self.describe(request, inputs, on_step)
        if operation is Operation.SHORTEN:
            return self.shorten(request, on_step)
        if operation is Operation.STYLE_EMBED:
            return self.style_embeddings(request, inputs, on_step)
        raise ValueError(f"not an image-prompt operation: {operation!r}")

    def references(
        self, request: GenerationRequest, inputs: GenerationInputs, on_step: StepCallback | None
    ) -> GenerationResult:
        """txt2img guided by the reference images; without IP-Adapter, img2img from their mix."""
        references = list(inputs.references)
        if not references:
            raise ValueError("reference needs at least one reference image")
        engine = self.engine
        if self.adapter is None:
            if any(reference.image is None for reference in references):
                raise JobFailed("Profiles and moodboards need the IP-Adapter (IP_ADAPTER is empty).")
            mixed = average_latent_image(
                engine.img2img_pipe,
                [reference.image for reference in references],
                request.width,
                request.height,
            )
            result = engine._run(
                engine.img2img_pipe, request, on_step, image=mixed, strength=request.strength
            )
            result.details["method"] = FALLBACK_METHOD
            return result
        guidance = request.guidance_scale > 1
        scales, embeds = self.adapter.call_arguments(references, request.batch_size, guidance)
        with self.adapter.attached(scales):
            result = engine._run(engine.txt2img_pipe, request, on_step, ip_adapter_image_embeds=embeds)
        result.details["method"] = IP_ADAPTER_METHOD
        return result

    def describe(
        self, request: GenerationRequest, inputs: GenerationInputs, on_step: StepCallback | None
    ) -> GenerationResult:
        """Four prompt suggestions for `inputs.image` (details["prompts"])."""
        if self.describer is None:
            raise JobFailed("/describe is not set up on this bot (DESCRIBE_MODEL is empty).")
        if inputs.image is None:
            raise ValueError("describe needs an input image")
        started = time.perf_counter()
        _step(on_step, 1, 2)
        prompts = self.describer.describe(inputs.image, seed=request.seed)
        _step(on_step, 2, 2)
        return self._text_result(request, started, {"prompts": prompts})

    def shorten(self, request: GenerationRequest, on_step: StepCallback | None) -> GenerationResult:
        """Word importances and shorter prompts for `request.prompt` (details)."""
        started = time.perf_counter()
        pipe = self.engine.txt2img_pipe
        # SDXL's (and SD 3's) second encoder has the projected pooled output the model is
        # conditioned on; FLUX's second is T5 (no pooled output): its CLIP is the first.
        flux = self.engine.family.architecture == "flux"
        encoder = (None if flux else getattr(pipe, "text_encoder_2", None)) or pipe.text_encoder
        tokenizer = (None if flux else getattr(pipe, "tokenizer_2", None)) or pipe.tokenizer
        _step(on_step, 1, 1)
        analysis = analyse_prompt(encoder, tokenizer, request.prompt)
        return self._text_result(request, started, analysis.to_dict())

    def style_embeddings(
        self, request: GenerationRequest, inputs: GenerationInputs, on_step: StepCallback | None
    ) -> GenerationResult:
        """The adapter's embeddings of the reference pictures, encoded in one batch (details)."""
        if self.adapter is None:
            raise JobFailed("Personalization needs an IP-Adapter (IP_ADAPTER is empty).")
        pictures = [reference.image for reference in inputs.references if reference.image is not None]
        if not pictures:
            raise ValueError("style_embed needs at least one picture")
        started = time.perf_counter()
        _step(on_step, 1, 1)
        embeds = self.adapter.image_embeds(pictures).float().cpu()
        details = {"embeddings": embeds.tolist(), "adapter": self.adapter_id}
        return self._text_result(request, started, details)

    @property
    def adapter_id(self) -> str:
        """Which adapter made an embedding: its location and weight file (codes are per adapter)."""
        return adapter_id(self.models.ip_adapter)

    def _text_result(
        self, request: GenerationRequest, started: float, details: dict[str, Any]
    ) -> GenerationResult:
        return GenerationResult(
            images=[],
            seeds=[],
            model_name=self.engine.model_name,
            sampler="",
            steps=0,
            guidance_scale=0.0,
            seconds=time.perf_counter() - started,
            details=details,
        )


def _step(on_step: StepCallback | None, step: int, total: int) -> None:
    """Progress and the chance to cancel, for operations without denoising steps."""
    if on_step is not None:
        on_step(StepProgress(step=step, total=total))
