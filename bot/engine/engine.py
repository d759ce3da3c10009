"""The Stable Diffusion engine: txt2img, img2img, inpaint, outpaint and upscale on one set of weights.

One `Engine` owns one loaded model. img2img and inpaint pipelines are made with `from_pipe`, so
they share the UNet, VAE and text encoders of the txt2img pipeline (one copy of the weights).
Every operation is one batched pipeline call with one generator per image (seed, seed+1, ...),
so each image can be reproduced alone. Not thread-safe by design: one worker thread owns it.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from bot.engine.aesthetics import ExperimentalAesthetics
from bot.engine.canvas import Layout, feather, outpaint_canvas
from bot.engine.compiled import uncompiled_for
from bot.engine.conditioning import PromptEncoder
from bot.engine.device import Precision
from bot.engine.edits import EditModels, ImageEdits
from bot.engine.family import ModelFamily
from bot.engine.flow import (
    FlowPromptEncoder,
    check_supported,
    dedicated_guidance,
    denoiser,
    per_image,
    spatial_latents,
)
from bot.engine.image_prompts import ImagePromptModels, ImagePrompts
from bot.engine.interface import NO_INPUTS, GenerationInputs, Operation
from bot.engine.lora import job_loras, job_sampler
from bot.engine.pipe_views import image_and_mask_views
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback, StepProgress, shares_call
from bot.engine.sampling import SAMPLER_LABELS, family_sampler, make_scheduler
from bot.engine.segment import SEGMENT_OPERATIONS, Segmenter
from bot.engine.source import ModelSource
from bot.engine.upscaler import Upscaler, super_resolve
from bot.engine.video import VideoEngine
from bot.errors import JobFailed

log = logging.getLogger(__name__)

# img2img strength of --hd's high-res pass (A1111's hires fix uses 0.3-0.5).
HIRES_STRENGTH = 0.35


@contextmanager
def seamless_tiling(modules: list[torch.nn.Module], enabled: bool) -> Iterator[None]:
    """Circular padding in every convolution while active: the image wraps around its edges."""
    if not enabled:
        yield
        return
    convs = [m for module in modules for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    previous = [conv.padding_mode for conv in convs]
    for conv in convs:
        conv.padding_mode = "circular"
    try:
        yield
    finally:
        for conv, mode in zip(convs, previous, strict=True):
            conv.padding_mode = mode


class DiffusersEngine:
    """A loaded model and the operations the bot needs from it (implements `interface.Engine`)."""

    def __init__(
        self,
        pipeline: Any,
        *,
        source: ModelSource,
        device: torch.device,
        dtype: torch.dtype,
        upscaler: Upscaler | Path | None = None,
        image_prompts: ImagePromptModels | None = None,
        precision: Precision | None = None,
        loras_dir: Path | None = None,
        inpaint_pipeline: Any = None,
        offloaded: bool = False,
        edit_models: EditModels | None = None,
        segmenter: Segmenter | None = None,
        video: VideoEngine | None = None,
    ) -> None:
        self.source = source
        self.family: ModelFamily = source.family
        self.model_name = source.name
        self.device = device
        self.dtype = dtype
        self.precision = precision
        self.loras_dir = loras_dir
        # A tiny VAE decoder (TAESD) for progress previews; None: the latent-RGB projection.
        self.preview_decoder: Any = None
        self.sampler_name = family_sampler(self.family)
        self.sampler = SAMPLER_LABELS[self.sampler_name]
        # Loaded on the first upscale, then kept (a file path: a spandrel model).
        self.upscaler = Upscaler.from_file(upscaler, device) if isinstance(upscaler, Path) else upscaler
        pipeline.scheduler = make_scheduler(self.sampler_name, pipeline.scheduler.config)
        if getattr(pipeline, "safety_checker", None) is not None:
            pipeline.safety_checker = None  # the moderation layer decides; see issue on NSFW checks
        pipeline.set_progress_bar_config(disable=True)
        # OFFLOAD: accelerate's hooks move each component to the GPU while it runs.
        self.offloaded = offloaded
        self.txt2img_pipe = pipeline if offloaded else pipeline.to(device)
        if device.type == "cuda":  # NHWC convolutions: faster on tensor cores, no gain on CPU (measured)
            denoiser(self.txt2img_pipe).to(memory_format=torch.channels_last)
        self.img2img_pipe, self.inpaint_pipe = image_and_mask_views(self.txt2img_pipe)
        for pipe in (self.img2img_pipe, self.inpaint_pipe):
            pipe.set_progress_bar_config(disable=True)
        # Outpaint and Vary (Region): a dedicated inpainting checkpoint (INPAINT_MODEL) when given,
        # else the shared-weights inpaint pipeline.
        self.masked_pipe = (
            self._dedicated(inpaint_pipeline) if inpaint_pipeline is not None else self.inpaint_pipe
        )
        self._encoder = (
            FlowPromptEncoder(self.txt2img_pipe, self.family)
            if self.family.is_flow
            else PromptEncoder(self.txt2img_pipe, is_sdxl=self.family.is_sdxl)
        )
        self.aesthetics = ExperimentalAesthetics(self.family)
        self.image_prompts = ImagePrompts(self, image_prompts or ImagePromptModels())
        self.edits = ImageEdits(self, edit_models or EditModels())
        self.segmenter = segmenter  # SEGMENT_MODEL (Smart Select, Remove background), loaded on first use
        # Animate / Extend (VIDEO_MODEL): loaded on the first video job; None: video is off.
        self.video = video
        log.info("Engine ready: %s (%s) on %s", self.model_name, self.family.name, device)

    # ----------------------------------------------------------------------------------------
    # Operations

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs = NO_INPUTS,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """Run one operation (the `interface.Engine` entry point)."""
        if operation is Operation.TXT2IMG:
            return self.txt2img(request, on_step)
        if operation in (Operation.REFERENCE, Operation.DESCRIBE, Operation.SHORTEN, Operation.STYLE_EMBED):
            return self.image_prompts.generate(operation, request, inputs, on_step)
        if operation in (Operation.RETEXTURE, Operation.INSTRUCT):
            return self.edits.generate(operation, request, inputs, on_step)
        if operation in SEGMENT_OPERATIONS:
            if self.segmenter is None:
                raise JobFailed(
                    "Smart Select and Remove background are not set up on this bot (SEGMENT_MODEL)."
                )
            return self.segmenter.generate(operation, request, inputs)
        if operation in (Operation.ANIMATE, Operation.EXTEND):
            if self.video is None:
                raise JobFailed("Video is off on this bot (VIDEO_MODEL=off).")
            return self.video.generate(operation, request, inputs, on_step)
        if inputs.image is None:
            raise ValueError(f"{operation} needs an input image")
        if operation is Operation.IMG2IMG:
            return self.img2img(request, inputs.image, on_step)
        if operation is Operation.INPAINT:
            if inputs.mask is None:
                raise ValueError("inpaint needs a mask")
            return self.inpaint(request, inputs.image, inputs.mask, on_step)
        if operation is Operation.UPSCALE:
            return self.upscale(request, inputs.image, inputs.factor, on_step)
        if operation is Operation.OUTPAINT:
            if inputs.placement is None:
                raise ValueError("outpaint needs a placement")
            return self.outpaint(request, inputs.image, inputs.placement, on_step)
        if operation is Operation.REGION:
            if inputs.mask is None:
                raise ValueError("region needs a mask")
            return self.vary_region(request, inputs.image, inputs.mask, on_step)
        raise ValueError(f"unknown operation {operation!r}")

    def txt2img(self, request: GenerationRequest, on_step: StepCallback | None = None) -> GenerationResult:
        """Generate `request.batch_size` images from text (with `hires_from`: in two passes)."""
        if request.hires_from is None:
            return self._run(self.txt2img_pipe, request, on_step)
        width, height = request.hires_from
        first = self._run(
            self.txt2img_pipe, replace(request, width=width, height=height, hires_from=None), on_step
        )
        return self._high_res_pass(request, first, on_step)

    def _high_res_pass(
        self, request: GenerationRequest, first: GenerationResult, on_step: StepCallback | None
    ) -> GenerationResult:
        """--hd without native 2 MP: the first pass's images resized to the request's size (Lanczos),
        then refined together by img2img at HIRES_STRENGTH, each with its own seed."""
        size = (request.width, request.height)
        enlarged = [image.resize(size, Image.Resampling.LANCZOS) for image in first.images]
        final = replace(request, hires_from=None)
        with self._vae_memory(final):
            result = self._run(self.img2img_pipe, final, on_step, image=enlarged, strength=HIRES_STRENGTH)
        return replace(result, seconds=result.seconds + first.seconds)

    def txt2img_jobs(
        self, requests: Sequence[GenerationRequest], on_step: StepCallback | None = None
    ) -> list[GenerationResult]:
        """Several jobs' txt2img in ONE pipeline call (batching across jobs); one result per request.

        Each request keeps its own prompt, negative prompt, chaos and seeds (one CPU generator per
        image), so its images match running it alone; the requests must agree on everything the
        call shares (`shares_call`), else ValueError. `on_step` sees the latents of all images, in
        request order.
        """
        first, *others = requests
        if first.hires_from is not None:  # two passes each: no shared call
            return [self.txt2img(request, on_step) for request in requests]
        for other in others:
            if not shares_call(first, other):
                raise ValueError("these requests cannot share one pipeline call")
        combined = self._run(self.txt2img_pipe, first, on_step, also=tuple(others))
        results, start = [], 0
        for request in requests:
            end = start + request.batch_size
            results.append(
                replace(combined, images=combined.images[start:end], seeds=combined.seeds[start:end])
            )
            start = end
        return results

    def img2img(
        self, request: GenerationRequest, image: Image.Image, on_step: StepCallback | None = None
    ) -> GenerationResult:
        """Re-imagine `image` (resized to the request's size) at `request.strength`."""
        source = image.convert("RGB").resize((request.width, request.height), Image.Resampling.LANCZOS)
        return self._run(self.img2img_pipe, request, on_step, image=source, strength=request.strength)

    def inpaint(
        self,
        request: GenerationRequest,
        image: Image.Image,
        mask: Image.Image,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """Repaint where `mask` is white; the rest of `image` is pasted back unchanged."""
        size = (request.width, request.height)
        source = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        mask = mask.convert("L").resize(size, Image.Resampling.NEAREST)
        result = self._run(
            self.inpaint_pipe, request, on_step, image=source, mask_image=mask, strength=request.strength
        )
        # The VAE round trip blurs the kept area: put the original pixels back.
        result.images = [Image.composite(generated, source, mask) for generated in result.images]
        return result

    def upscale(
        self,
        request: GenerationRequest,
        image: Image.Image,
        factor: int = 2,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """Super-resolve `image` by `factor`, then refine it with img2img at `request.strength`."""
        enlarged = super_resolve(image.convert("RGB"), factor, self.upscaler, self.device)
        step = self.family.multiple if self.family.is_flow else 8  # SD 3 / FLUX: 2x2 latent patches
        width = enlarged.width // step * step
        height = enlarged.height // step * step
        enlarged = enlarged.crop((0, 0, width, height))
        big = replace(request, width=width, height=height, batch_size=1)
        tiled = width * height > self.family.native_area * 2
        with self._vae_tiling(tiled):
            return self._run(self.img2img_pipe, big, on_step, image=enlarged, strength=request.strength)

    def outpaint(
        self,
        request: GenerationRequest,
        image: Image.Image,
        placement: tuple[int, int, int, int],
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """Scale `image` into `placement` on the request's canvas and paint the rest around it.

        The new area starts from the original's edges extended outwards plus noise; the original
        is pasted back after decoding (soft edges only inside the repainted seam band).
        """
        layout = Layout(request.width, request.height, placement)
        canvas, mask = outpaint_canvas(image, layout, request.seed)
        return self._repaint(request, canvas, mask, on_step)

    def vary_region(
        self,
        request: GenerationRequest,
        image: Image.Image,
        mask: Image.Image,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """Repaint where `mask` is white, blended in with feathered edges; every pixel outside the
        mask stays exactly the original's."""
        size = (request.width, request.height)
        source = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        hard = (
            mask.convert("L").resize(size, Image.Resampling.NEAREST).point(lambda v: 255 if v >= 128 else 0)
        )
        return self._repaint(request, source, hard, on_step)

    def _repaint(
        self, request: GenerationRequest, canvas: Image.Image, mask: Image.Image, on_step: StepCallback | None
    ) -> GenerationResult:
        if self.masked_pipe is not self.inpaint_pipe:  # INPAINT_MODEL (FLUX Fill: its own guidance)
            request = replace(request, guidance_scale=dedicated_guidance(self.family, request.guidance_scale))
        result = self._run(
            self.masked_pipe, request, on_step, image=canvas, mask_image=mask, strength=request.strength
        )
        # The VAE round trip changes every pixel: paste the canvas back through the soft mask.
        soft = feather(mask)
        result.images = [Image.composite(generated, canvas, soft) for generated in result.images]
        return result

    def _dedicated(self, pipeline: Any) -> Any:
        """An inpainting checkpoint's pipeline, on this engine's device, scheduler and settings."""
        from diffusers import DPMSolverMultistepScheduler

        if not self.family.is_flow:  # FLUX Fill keeps its flow-matching scheduler
            pipeline.scheduler = DPMSolverMultistepScheduler.from_config(
                pipeline.scheduler.config, use_karras_sigmas=True
            )
        if getattr(pipeline, "safety_checker", None) is not None:
            pipeline.safety_checker = None
        pipeline.set_progress_bar_config(disable=True)
        if self.offloaded:  # its own transformer/UNet joins the GPU only while it runs, like MODEL's
            pipeline.enable_model_cpu_offload(device=self.device)
            return pipeline
        return pipeline.to(self.device)

    def free_memory(self) -> None:
        """Release cached GPU memory (after an out-of-memory error)."""
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ----------------------------------------------------------------------------------------
    # The recipe shared by every operation

    def _run(
        self,
        pipe: Any,
        request: GenerationRequest,
        on_step: StepCallback | None,
        also: tuple[GenerationRequest, ...] = (),
        **inputs: Any,
    ) -> GenerationResult:
        started = time.perf_counter()
        check_supported(self.family, request)
        # 0. Image-to-image pipelines run int(steps × strength) steps: make that at least one.
        strength = inputs.get("strength")
        if strength and int(request.steps * strength) < 1:
            request = replace(request, steps=math.ceil(1 / strength))
        # 1. Seeds: one CPU generator per image, so results match across devices and batch splits.
        parts = (request, *also)  # `also`: other jobs batched into this call (txt2img_jobs)
        seeds = [seed for part in parts for seed in part.seeds]
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        if self.family.is_flow:  # SD 3 / FLUX encode one input image per generator
            inputs = per_image(inputs, len(seeds))
        # 1b. The job's own LoRAs and sampler (a draft's), removed again after this call; with
        #     COMPILE, LoRA and --tile jobs run on the uncompiled UNet.
        with (
            uncompiled_for([self.txt2img_pipe, self.img2img_pipe, self.inpaint_pipe], request),
            job_loras(self.txt2img_pipe, request.loras, self.loras_dir),
            self.aesthetics.applied(pipe, request.exp) as (pipe, exp_inputs),  # --exp: FreeU or PAG
            job_sampler([pipe], request.sampler, self.sampler_name),
        ):
            # 2. Text conditioning (compel weights, chaos spread across the batch), with the job's LoRAs.
            conditioning = _concatenated(
                [
                    self._encoder.encode(part).for_batch(part.batch_size, part.chaos, part.seeds)
                    for part in parts
                ]
            )
            # 3. Progress, cancellation (the callback raises) and --stop (interrupt, then decode).
            callback = self._step_callback(request, on_step)
            # 4. Denoise and decode in the precision policy's autocast (if any), with seamless tiling
            #    when asked for and VAE tiling/slicing only when the image is big enough to need it.
            with (
                seamless_tiling([denoiser(pipe), pipe.vae], request.tile),
                self._vae_memory(request, len(seeds)),
                torch.inference_mode(),
                self._autocast(),
            ):
                output = pipe(
                    **conditioning,
                    **inputs,
                    **exp_inputs,
                    height=request.height,
                    width=request.width,
                    num_inference_steps=request.steps,
                    guidance_scale=request.guidance_scale,
                    num_images_per_prompt=1,
                    generator=generators,
                    callback_on_step_end=callback,
                    callback_on_step_end_tensor_inputs=["latents"],
                    output_type="pil",
                )
        return GenerationResult(
            images=list(output.images),
            seeds=seeds,
            model_name=self.model_name,
            sampler=SAMPLER_LABELS[request.sampler or self.sampler_name],
            steps=request.steps,
            guidance_scale=request.guidance_scale,
            seconds=time.perf_counter() - started,
            family=self.family.name,
        )

    def _step_callback(self, request: GenerationRequest, on_step: StepCallback | None):
        preview_decoder = self.preview_decoder
        family = self.family

        def callback(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            planned = pipe.num_timesteps or request.steps
            total = max(1, math.ceil(planned * request.stop / 100))
            step = index + 1
            if on_step is not None and step <= total:
                latents = spatial_latents(pipe, tensors.get("latents"), request.height, request.width)
                # The tiny decoder renders the preview while it keeps within its time budget.
                affordable = preview_decoder is not None and getattr(preview_decoder, "affordable", True)
                render = (
                    partial(preview_decoder.images, latents) if affordable and latents is not None else None
                )
                on_step(StepProgress(step=step, total=total, latents=latents, render=render, family=family))
            if request.stop < 100 and step >= total:
                pipe._interrupt = True  # remaining steps are skipped; the current latents are decoded
            return tensors

        return callback

    def _autocast(self) -> AbstractContextManager[Any]:
        """bf16 (or fp16) autocast around denoising and decoding, when the precision policy says so."""
        if self.precision is None or self.precision.autocast is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.precision.autocast)

    @contextmanager
    def _vae_memory(self, request: GenerationRequest, images: int | None = None) -> Iterator[None]:
        """Tile the VAE for images over twice the native area, slice it for big batches; else leave
        it alone (both cost time for images that fit)."""
        vae = self.txt2img_pipe.vae
        area = request.width * request.height
        tiled = area > 2 * self.family.native_area
        images = request.batch_size if images is None else images
        sliced = images > 1 and images * area > 4 * self.family.native_area
        if tiled:
            vae.enable_tiling()
        if sliced:
            vae.enable_slicing()
        try:
            yield
        finally:
            if tiled:
                vae.disable_tiling()
            if sliced:
                vae.disable_slicing()

    @contextmanager
    def _vae_tiling(self, enabled: bool) -> Iterator[None]:
        vae = self.txt2img_pipe.vae
        if not enabled:
            yield
            return
        vae.enable_tiling()
        try:
            yield
        finally:
            vae.disable_tiling()


def _concatenated(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The pipeline arguments of several jobs' conditioning, stacked along the batch."""
    if len(parts) == 1:
        return parts[0]
    keys = ("prompt_embeds", "negative_prompt_embeds")
    shapes = {tuple(part[key].shape[1:]) for part in parts for key in keys if key in part}
    if len(shapes) != 1:
        raise ValueError("these prompts encode to different lengths; run their jobs one by one")
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}
