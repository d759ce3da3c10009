"""The engine on the real (tiny) diffusers pipelines: determinism, img2img, inpaint, upscale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from bot.engine.engine import seamless_tiling
from bot.engine.preview import latents_to_preview
from bot.engine.request import GenerationRequest, JobCancelled, StepProgress


def request(**changes) -> GenerationRequest:
    base = GenerationRequest(prompt="a red fox in the snow", width=64, height=64, seed=7, steps=3)
    return replace(base, **changes)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def distance(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


def test_txt2img_makes_four_images_of_the_asked_size(tiny_engine):
    """One call gives four images at the requested size, with seeds seed..seed+3."""
    result = tiny_engine.txt2img(request(width=96, height=64))
    assert [image.size for image in result.images] == [(96, 64)] * 4
    assert result.seeds == [7, 8, 9, 10]
    assert len({image.tobytes() for image in result.images}) == 4


def test_same_seed_gives_byte_identical_images(tiny_engine):
    """Running the same request twice reproduces every pixel."""
    first = tiny_engine.txt2img(request())
    second = tiny_engine.txt2img(request())
    assert [image.tobytes() for image in first.images] == [image.tobytes() for image in second.images]
    other = tiny_engine.txt2img(request(seed=8))
    assert other.images[0].tobytes() != first.images[0].tobytes()


def test_each_grid_image_is_reproducible_alone(tiny_engine):
    """Image n of a batch equals a single-image run at seed + n (per-image generators)."""
    batch = tiny_engine.txt2img(request())
    alone = tiny_engine.txt2img(request(seed=9, batch_size=1))
    assert distance(batch.images[2], alone.images[0]) < 1.0
    assert distance(batch.images[1], alone.images[0]) > 5.0


def test_img2img_at_low_strength_stays_close_to_its_source(tiny_engine):
    """Strength 0.3 keeps the picture: closer to its source than to an unrelated image."""
    source = tiny_engine.txt2img(request(seed=1, batch_size=1)).images[0]
    unrelated = tiny_engine.txt2img(request(seed=2, batch_size=1, prompt="blue ocean")).images[0]
    varied = tiny_engine.img2img(request(strength=0.3, steps=10, batch_size=1, seed=3), source).images[0]
    assert distance(varied, source) < distance(varied, unrelated)
    assert distance(varied, source) < 0.5 * distance(source, unrelated)


def test_img2img_and_inpaint_share_the_weights(tiny_engine):
    """from_pipe: the img2img and inpaint pipelines hold the same module objects, no copy."""
    base = tiny_engine.txt2img_pipe
    for pipe in (tiny_engine.img2img_pipe, tiny_engine.inpaint_pipe):
        assert pipe.unet is base.unet
        assert pipe.vae is base.vae
        assert pipe.text_encoder is base.text_encoder
    pointers = {
        parameter.data_ptr()
        for pipe in (base, tiny_engine.img2img_pipe, tiny_engine.inpaint_pipe)
        for parameter in pipe.unet.parameters()
    }
    assert len(pointers) == len(list(base.unet.parameters()))


def test_inpaint_keeps_the_unmasked_area_exactly(tiny_engine):
    """Pixels outside the mask are the source's; inside they change."""
    source = tiny_engine.txt2img(request(batch_size=1)).images[0]
    mask = Image.new("L", source.size, 0)
    mask.paste(255, (0, 0, 32, 64))
    result = tiny_engine.inpaint(request(batch_size=2, strength=1.0), source, mask)
    for image in result.images:
        kept = pixels(image)[:, 32:]
        assert np.array_equal(kept, pixels(source)[:, 32:])
        assert distance(image.crop((0, 0, 32, 64)), source.crop((0, 0, 32, 64))) > 1.0


def test_upscale_doubles_the_size(tiny_engine):
    """Upscale gives one image twice as wide and tall, still resembling the source."""
    source = tiny_engine.txt2img(request(batch_size=1, width=64, height=48)).images[0]
    result = tiny_engine.upscale(request(strength=0.3, steps=4), source, factor=2)
    assert len(result.images) == 1
    assert result.images[0].size == (128, 96)
    assert distance(result.images[0].resize(source.size), source) < 40


def test_progress_reaches_the_last_step(tiny_engine):
    """The step callback sees steps 1..total with latents of the whole batch."""
    seen: list[StepProgress] = []
    tiny_engine.txt2img(request(steps=4), on_step=seen.append)
    assert [p.step for p in seen] == [1, 2, 3, 4]
    assert {p.total for p in seen} == {4}
    assert seen[-1].latents.shape == (4, 4, 8, 8)


def test_cancel_stops_without_decoding(tiny_engine, monkeypatch):
    """Raising JobCancelled from the callback stops the job and nothing is decoded."""
    decoded = []
    vae = tiny_engine.txt2img_pipe.vae
    original = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decoded.append(1) or original(*a, **k))
    steps = []

    def cancel_at_two(progress: StepProgress) -> None:
        steps.append(progress.step)
        if progress.step == 2:
            raise JobCancelled

    with pytest.raises(JobCancelled):
        tiny_engine.txt2img(request(steps=6), on_step=cancel_at_two)
    assert steps == [1, 2]
    assert decoded == []


def test_stop_decodes_early(tiny_engine):
    """--stop 50 runs half the steps and still returns images, different from a full run."""
    seen: list[StepProgress] = []
    stopped = tiny_engine.txt2img(request(steps=6, stop=50), on_step=seen.append)
    assert [p.step for p in seen] == [1, 2, 3]
    full = tiny_engine.txt2img(request(steps=6))
    assert len(stopped.images) == 4
    assert stopped.images[0].tobytes() != full.images[0].tobytes()


def test_tile_uses_circular_padding_only_while_generating(tiny_engine):
    """--tile switches convolutions to circular padding, restores them, and changes the image."""
    unet = tiny_engine.txt2img_pipe.unet
    conv = next(m for m in unet.modules() if isinstance(m, torch.nn.Conv2d) and m.padding != (0, 0))
    with seamless_tiling([unet], True):
        assert conv.padding_mode == "circular"
    assert conv.padding_mode == "zeros"
    tiled = tiny_engine.txt2img(request(tile=True, batch_size=1)).images[0]
    plain = tiny_engine.txt2img(request(batch_size=1)).images[0]
    assert tiled.tobytes() != plain.tobytes()


def test_chaos_changes_images_but_keeps_seeds_reproducible(tiny_engine):
    """Chaos makes a different batch from the same seed, and the same chaos repeats exactly."""
    calm = tiny_engine.txt2img(request())
    wild = tiny_engine.txt2img(request(chaos=1.0))
    again = tiny_engine.txt2img(request(chaos=1.0))
    assert wild.images[0].tobytes() != calm.images[0].tobytes()
    assert wild.images[0].tobytes() == again.images[0].tobytes()


def test_preview_is_a_small_grid(tiny_engine):
    """The latent preview is a 2x2 grid at latent resolution, made without the VAE."""
    seen: list[StepProgress] = []
    tiny_engine.txt2img(request(width=96, height=64, steps=2), on_step=seen.append)
    preview = latents_to_preview(seen[-1].latents, tiny_engine.family)
    assert preview.size == (2 * 96 // 8, 2 * 64 // 8)
    assert preview.mode == "RGB"


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [(100, 64, "divisible by 8"), (0, 64, "positive")],
)
def test_bad_sizes_are_refused_before_any_work(width, height, message):
    """A size the VAE cannot handle is a ValueError naming the rule."""
    with pytest.raises(ValueError, match=message):
        request(width=width, height=height)


def test_img2img_with_fewer_steps_than_its_strength_needs_still_denoises(tiny_engine):
    """2 steps at strength 0.35 would be 0 img2img steps; the engine runs at least one and says so."""
    source = tiny_engine.txt2img(request(batch_size=1)).images[0]
    seen: list[StepProgress] = []
    result = tiny_engine.img2img(request(steps=2, strength=0.35, batch_size=1), source, on_step=seen.append)
    assert len(seen) >= 1
    assert result.steps == 3
    assert result.images[0].size == source.size


def test_outpaint_keeps_the_original_inside_its_box_and_paints_the_border(tiny_engine):
    """Zoom Out: inside the box (minus the seam band) the scaled original exactly; around it new
    pixels that are neither black nor the pre-fill."""
    from bot.engine.canvas import feather_radius, prefill, zoom_layout
    from bot.engine.family import TINY
    from bot.engine.interface import GenerationInputs, Operation

    source = tiny_engine.txt2img(request(batch_size=1)).images[0]
    layout = zoom_layout(source.size, 2.0, TINY)
    asked = request(width=layout.width, height=layout.height, batch_size=2, strength=1.0)
    result = tiny_engine.generate(
        Operation.OUTPAINT, asked, GenerationInputs(image=source, placement=layout.box)
    )
    left, top, right, bottom = layout.box
    seam = feather_radius(layout.size)
    scaled = pixels(source.resize(layout.box_size, Image.Resampling.LANCZOS))
    start = prefill(source, layout, asked.seed)
    for image in result.images:
        assert image.size == layout.size
        inner = pixels(image)[top + seam : bottom - seam, left + seam : right - seam]
        assert np.array_equal(inner, scaled[seam:-seam, seam:-seam])
        border = pixels(image)[: top - 1]
        assert border.mean() > 10
        assert np.abs(border - pixels(start)[: top - 1]).mean() > 5


def test_region_keeps_every_pixel_outside_the_mask(tiny_engine):
    """Vary (Region): exactly the original outside the (feathered) mask, different inside."""
    from bot.engine.canvas import cell_mask
    from bot.engine.interface import GenerationInputs, Operation

    source = tiny_engine.txt2img(request(batch_size=1)).images[0]
    mask = cell_mask(source.size, [5, 6])  # x 16-48, y 16-32 on 64 px
    result = tiny_engine.generate(
        Operation.REGION, request(batch_size=2, strength=1.0), GenerationInputs(image=source, mask=mask)
    )
    outside = np.asarray(mask) == 0
    for image in result.images:
        assert np.array_equal(pixels(image)[outside], pixels(source)[outside])
        assert distance(image.crop((16, 16, 48, 32)), source.crop((16, 16, 48, 32))) > 1.0
