"""img2img and inpaint pipelines made from a loaded txt2img pipeline with `from_pipe`: they share
its UNet/transformer, VAE and text encoders (one copy of the weights).

The usual pipelines are named here, so start-up imports only their modules; diffusers'
`AutoPipelineFor*` (whose module imports every pipeline diffusers has: about a second on a
2-core CPU) is the fallback for any other pipeline class.
"""

from __future__ import annotations

from typing import Any

__all__ = ["image_and_mask_views"]

# txt2img pipeline class → (its img2img class, its inpaint class)
_VIEWS = {
    "StableDiffusionPipeline": ("StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"),
    "StableDiffusionXLPipeline": ("StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline"),
    "StableDiffusion3Pipeline": ("StableDiffusion3Img2ImgPipeline", "StableDiffusion3InpaintPipeline"),
    "FluxPipeline": ("FluxImg2ImgPipeline", "FluxInpaintPipeline"),
}


def image_and_mask_views(pipeline: Any) -> tuple[Any, Any]:
    """The img2img and inpaint pipelines sharing `pipeline`'s components."""
    import diffusers

    names = _VIEWS.get(type(pipeline).__name__)
    if names is None:
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

        return AutoPipelineForImage2Image.from_pipe(pipeline), AutoPipelineForInpainting.from_pipe(pipeline)
    img2img, inpaint = (getattr(diffusers, name) for name in names)
    return img2img.from_pipe(pipeline), inpaint.from_pipe(pipeline)
