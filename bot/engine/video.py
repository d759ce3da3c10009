"""Image-to-video: Animate (Low/High motion, --loop, --end) and Extend, on a Wan pipeline.

Why Wan image-to-video (2.2-A14B shape): it conditions on a start AND an end frame
(`last_image`), which is what `--loop` and `--end` need, and the same call extends a clip from
its last frame, so one model serves every video action. LTX-Video extends more smoothly but
needs a second model resident; SVD and AnimateDiff cannot aim at an end frame (measured; see
DESIGN.md).

`VideoEngine` is created with the image engine and loads its pipeline on the first video job, on
the worker thread that owns the engine: one copy, beside the image model. Every clip is one
pipeline call with its own generator (seed, seed+1, …), so a clip can be reproduced alone;
cancellation raises from the step callback, so ❌ stops a clip within one step.

The first frame of a clip is the start image itself and, with `--loop` / `--end`, the last frame
the end image itself: the model is conditioned on them, and the frames are then put back exactly
(the VAE's reconstruction of them is close but not exact), so a loop closes without a jump.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback, StepProgress
from bot.engine.tiny_video import TINY_VIDEO_NAME, build_tiny_video_model
from bot.engine.video_spec import VideoSpec, clip_size, video_spec
from bot.errors import ConfigError, InvalidParameter

__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "MOTION_PROMPTS",
    "VideoEngine",
    "VideoSource",
    "resolve_video_source",
]

log = logging.getLogger(__name__)

# Wan 2.2 image-to-video, 14B (two experts, high- and low-noise): start + end frames, 480p/720p.
DEFAULT_VIDEO_MODEL = "Wan-AI/Wan2.2-I2V-A14B-Diffusers"
# Wan has no motion knob: Low/High motion are phrases added to the prompt (none with --raw) and
# the flow-matching shift (a higher shift spends more steps on coarse structure: more movement).
MOTION_PROMPTS = {
    "low": ("subtle motion, slow gentle camera movement", "fast motion, shaky camera, sudden cuts"),
    "high": ("dynamic motion, energetic movement, moving camera", "static, still image, frozen"),
}
MOTION_SHIFT = {"low": 3.0, "high": 5.0}
OFFLOADS = ("auto", "none", "model", "group", "sequential")


@dataclass(frozen=True)
class VideoSource:
    """Where the video model comes from: "tiny", a diffusers folder or a hub repo id."""

    kind: str
    location: str
    name: str


def resolve_video_source(video_model: str, models_dir: Path, image_model_kind: str) -> VideoSource | None:
    """What VIDEO_MODEL names; None for `off`. `auto`: the tiny model beside the tiny image model,
    else DEFAULT_VIDEO_MODEL."""
    value = video_model.strip()
    if value.lower() == "off":
        return None
    if value.lower() == "auto":
        value = TINY_VIDEO_NAME if image_model_kind == "tiny" else DEFAULT_VIDEO_MODEL
    if value.lower() in ("tiny", TINY_VIDEO_NAME):
        return VideoSource("tiny", str(models_dir / TINY_VIDEO_NAME), TINY_VIDEO_NAME)
    path = Path(value).expanduser()
    if path.is_dir() or value.startswith((".", "/", "~")):
        if not (path / "model_index.json").is_file():
            raise ConfigError(
                f"VIDEO_MODEL={video_model!r}: {path} is not a diffusers folder (no model_index.json)"
            )
        return VideoSource("folder", str(path), path.name)
    if value.count("/") != 1:
        raise ConfigError(f"VIDEO_MODEL={video_model!r}: expected off, auto, tiny, a folder or a repo id")
    return VideoSource("hub", value, value.split("/")[-1])


class VideoEngine:
    """The video pipeline of one GPU worker, loaded on first use."""

    def __init__(
        self,
        source: VideoSource,
        *,
        device: torch.device,
        dtype: torch.dtype,
        autocast: torch.dtype | None = None,
        offload: str = "auto",
    ) -> None:
        if offload not in OFFLOADS:
            raise ConfigError(f"VIDEO_OFFLOAD={offload!r}: expected one of {', '.join(OFFLOADS)}")
        self.source = source
        self.device = device
        self.dtype = dtype
        self.autocast = autocast
        self.offload = offload
        self._pipe: Any = None

    @property
    def model_name(self) -> str:
        return self.source.name

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    # ---- loading ---------------------------------------------------------------------------

    def pipeline(self) -> Any:
        """The Wan image-to-video pipeline, loaded once (raises JobFailed-worthy errors as is)."""
        if self._pipe is None:
            self._pipe = self._load()
        return self._pipe

    def _load(self) -> Any:
        from diffusers import WanImageToVideoPipeline

        started = time.monotonic()
        location = self.source.location
        if self.source.kind == "tiny":
            build_tiny_video_model(Path(location))
        log.info("Loading video model %s (%s) on %s", location, self.source.kind, self.device)
        pipe = WanImageToVideoPipeline.from_pretrained(location, dtype=self.dtype)
        pipe.set_progress_bar_config(disable=True)
        self._place(pipe)
        log.info("Video model ready in %.1f s: %s", time.monotonic() - started, self.source.name)
        return pipe

    def _place(self, pipe: Any) -> None:
        """Resident on the device, or offloaded to CPU RAM when the GPU is too small (VIDEO_OFFLOAD)."""
        offload = self.offload
        if offload == "auto":
            offload = "none"
            if self.device.type == "cuda":
                weights = sum(
                    p.numel() * p.element_size()
                    for m in pipe.components.values()
                    if isinstance(m, torch.nn.Module)
                    for p in m.parameters()
                )
                free, _ = torch.cuda.mem_get_info(self.device)
                # Activations of a 480p clip need a few GB beyond the weights.
                offload = "none" if weights * 1.2 + 4 * 2**30 < free else "group"
            log.info("VIDEO_OFFLOAD=auto chose %s", offload)
        if offload == "none" or self.device.type != "cuda":
            pipe.to(self.device)
        elif offload == "model":
            pipe.enable_model_cpu_offload(device=self.device)
        elif offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=self.device)
        else:  # group: stream each layer's weights to the GPU just before it runs
            from diffusers.hooks import apply_group_offloading

            for name in ("transformer", "transformer_2", "text_encoder"):
                module = getattr(pipe, name, None)
                if module is not None:  # works on transformers' text encoder too
                    apply_group_offloading(
                        module, onload_device=self.device, offload_type="leaf_level", use_stream=True
                    )
            pipe.vae.to(self.device)

    @property
    def supports_end_frame(self) -> bool:
        """Whether the loaded model aims at an end frame (Wan 2.2-A14B style: 36 input channels, no
        CLIP image encoder, no per-frame timesteps); TI2V-5B and Wan 2.1 I2V do not."""
        pipe = self.pipeline()
        model = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
        return (
            model.config.in_channels == 2 * pipe.vae.config.z_dim + 4
            and model.config.image_dim is None
            and not pipe.config.expand_timesteps
        )

    # ---- operations ------------------------------------------------------------------------

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """ANIMATE `inputs.image` (optionally towards `inputs.end_image`) or EXTEND `inputs.clip`.
        One clip per seed of the request's spec (`--bs`)."""
        # 1. Check inputs
        spec = video_spec(request.extra)
        if operation is Operation.ANIMATE:
            if inputs.image is None:
                raise ValueError("animate needs a start image")
            start = inputs.image.convert("RGB")
            end = start if spec.loop else inputs.end_image
            frames, kept = spec.frames, ()
        elif operation is Operation.EXTEND:
            if len(inputs.clip) < 2:
                raise ValueError("extend needs the frames of a clip")
            kept = tuple(inputs.clip)
            start = kept[-1].convert("RGB")
            end = inputs.end_image
            frames = spec.extend_frames + 1  # the clip's last frame starts the new part
        else:
            raise ValueError(f"the video engine does not do {operation}")
        pipe = self.pipeline()
        if end is not None and not self.supports_end_frame:
            raise InvalidParameter(
                f"The video model {self.model_name} cannot aim at an end frame: --loop and --end need a "
                "Wan 2.2-A14B-style image-to-video model (VIDEO_MODEL)."
            )
        # 2. Size: the start image's aspect ratio at the spec's resolution
        width, height = clip_size(start.width, start.height, spec.resolution)
        start = _fit(start, width, height)
        end = _fit(end.convert("RGB"), width, height) if end is not None else None
        # 3. Prompt: the motion phrases (not with --raw)
        motion, avoid = MOTION_PROMPTS[spec.motion]
        prompt = request.prompt if spec.raw else ", ".join(filter(None, (request.prompt, motion)))
        negative = (
            request.negative_prompt if spec.raw else ", ".join(filter(None, (request.negative_prompt, avoid)))
        )
        pipe.scheduler = pipe.scheduler.from_config(pipe.scheduler.config, shift=MOTION_SHIFT[spec.motion])
        # 4. One call per clip, the step callback counting across clips
        started = time.monotonic()
        seeds = request.seeds  # one clip per seed: --bs, or a half of it after running out of memory
        clips: list[list[Image.Image]] = []
        total = spec.steps * len(seeds)
        for n, seed in enumerate(seeds):
            generated = self._clip(
                pipe,
                prompt,
                negative,
                start,
                end,
                width,
                height,
                frames,
                spec,
                request,
                seed,
                n,
                total,
                on_step,
            )
            # 5. The conditioning frames themselves at the ends of the clip (see module doc)
            generated[0] = start.copy()
            if end is not None:
                generated[-1] = end.copy()
            clips.append([*kept, *generated[1:]] if kept else generated)
        return GenerationResult(
            images=[clip[0] for clip in clips],  # the posters
            seeds=seeds,
            model_name=self.model_name,
            sampler="flow-match Euler",
            steps=spec.steps,
            guidance_scale=request.guidance_scale,
            seconds=time.monotonic() - started,
            details={"video": {"fps": spec.fps, "width": width, "height": height, "frames": len(clips[0])}},
            clips=clips,
        )

    def _clip(
        self,
        pipe: Any,
        prompt: str,
        negative: str,
        start: Image.Image,
        end: Image.Image | None,
        width: int,
        height: int,
        frames: int,
        spec: VideoSpec,
        request: GenerationRequest,
        seed: int,
        index: int,
        total: int,
        on_step: StepCallback | None,
    ) -> list[Image.Image]:
        def step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if on_step is not None:
                on_step(StepProgress(step=index * spec.steps + step + 1, total=total))
            return kwargs

        device = "cpu" if self.device.type == "mps" else self.device
        with torch.inference_mode(), self._autocast():
            output = pipe(
                image=start,
                last_image=end,
                prompt=prompt,
                negative_prompt=negative or None,
                height=height,
                width=width,
                num_frames=frames,
                num_inference_steps=spec.steps,
                guidance_scale=request.guidance_scale,
                generator=torch.Generator(device=device).manual_seed(seed),
                output_type="pil",
                callback_on_step_end=step_end,
                # Wan pads prompts to 512 T5 tokens; the tiny model's text encoder needs few.
                max_sequence_length=32 if self.source.kind == "tiny" else 512,
            )
        return list(output.frames[0])

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast)


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale and centre-crop `image` to cover `width` x `height`."""
    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    scaled = image.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return scaled.crop((left, top, left + width, top + height))
