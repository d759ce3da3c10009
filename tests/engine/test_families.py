"""Stable Diffusion 3 and FLUX.1 beside SD 1.x/2.x/SDXL: every operation on the embedded tiny
models of both architectures (real pipeline classes, 64 px, 2 steps), family detection from
configs and names, and what a family cannot do answered in one line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.config import Config
from bot.engine.family import (
    FLUX_DEV,
    FLUX_SCHNELL,
    SD3,
    SD3_TURBO,
    SDXL,
    TINY_FLUX,
    TINY_SD3,
    family_for_name,
    family_of_checkpoint,
    family_of_diffusers_folder,
)
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest
from bot.errors import JobFailed
from bot.prompt import PromptContext, expand_prompt

FAMILIES = {"tiny-sd3": ("sd3", TINY_SD3), "tiny-flux": ("flux", TINY_FLUX)}


def build_transformer_lora(model_dir: Path, kind: str, folder: Path, name: str = "sparkle") -> Path:
    """A rank-4 LoRA on the attention projections of a tiny transformer, random A and B."""
    import torch
    from diffusers import (
        FluxPipeline,
        FluxTransformer2DModel,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    model_class, pipeline_class = (
        (SD3Transformer2DModel, StableDiffusion3Pipeline)
        if kind == "sd3"
        else (FluxTransformer2DModel, FluxPipeline)
    )
    torch.manual_seed(5)
    transformer = model_class.from_pretrained(model_dir / "transformer")
    transformer.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v"], init_lora_weights=False)
    )
    folder.mkdir(parents=True, exist_ok=True)
    pipeline_class.save_lora_weights(
        folder,
        transformer_lora_layers=get_peft_model_state_dict(transformer),
        weight_name=f"{name}.safetensors",
    )
    return folder / f"{name}.safetensors"


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One loaded tiny engine per new family (fp32), with a LoRA built for it in models/loras/."""
    from bot.engine.loader import load_engine
    from bot.engine.tiny_flow import build_tiny_flow_model

    model = request.param
    kind, _ = FAMILIES[model]
    cache_provider = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = Path(cache_provider.mkdir("models")) if cache_provider else tmp_path_factory.mktemp("built")
    built = build_tiny_flow_model(cache / model, kind)
    models = tmp_path_factory.mktemp("models")
    (models / model).symlink_to(built)
    build_transformer_lora(built, kind, models / "loras")
    settings = Config.from_env(
        {
            "MODEL": model,
            "MODELS_DIR": str(models),
            "DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "DEVICE": "cpu",
            "PRECISION": "fp32",
        }
    )
    return load_engine(settings)


def recipe(engine, **changes) -> GenerationRequest:
    base = GenerationRequest(
        "a red lighthouse at dusk",
        64,
        64,
        seed=7,
        steps=2,
        guidance_scale=engine.family.default_guidance,
        negative_prompt="fog",
    )
    return replace(base, **changes)


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.int16) for image in images])


def weights_hash(engine) -> str:
    digest = hashlib.sha256()
    for key, tensor in sorted(engine.txt2img_pipe.transformer.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_txt2img_grid_names_the_family_and_previews_its_latents(family_engine) -> None:
    """Four different images, one seed each, the family's sampler; previews see (B, 16, h, w) latents."""
    seen = []
    result = family_engine.generate(
        Operation.TXT2IMG, recipe(family_engine), on_step=lambda progress: seen.append(progress)
    )
    assert [image.size for image in result.images] == [(64, 64)] * 4
    assert result.seeds == [7, 8, 9, 10]
    assert result.family == family_engine.family.name
    assert result.sampler == "Euler (flow match)"
    frames = pixels(result.images)
    assert all(np.abs(frames[0] - frame).max() > 0 for frame in frames[1:])
    assert [progress.step for progress in seen] == [1, 2]
    assert tuple(seen[-1].latents.shape) == (4, 16, 8, 8)
    from bot.engine.preview import latents_to_images

    assert latents_to_images(seen[-1].latents, family_engine.family)[0].size == (8, 8)


def test_the_saved_recipe_names_the_family(family_engine, tmp_path: Path) -> None:
    """Every PNG's A1111 parameters carry `Model family: tiny-sd3` / `tiny-flux` and the sampler."""
    from bot.jobs.files import read_png_parameters, save_result

    request = recipe(family_engine, batch_size=1)
    (path,) = save_result(tmp_path, request, family_engine.generate(Operation.TXT2IMG, request))
    parameters = read_png_parameters(path)
    assert f"Model family: {family_engine.family.name}" in parameters
    assert "Sampler: Euler (flow match)" in parameters


def test_the_recipe_says_whether_no_was_used(family_engine, tmp_path: Path) -> None:
    """`--no fog`: SD 3's PNG keeps it as its negative prompt; FLUX's has none (it ignores --no),
    the reply's note says so and the recipe carries that note instead."""
    from bot.jobs.files import parse_a1111_parameters, read_png_parameters, save_result

    family = family_engine.family
    (parsed,) = expand_prompt("a lighthouse --no fog, rain", PromptContext(family=family))
    request = replace(parsed.to_generation(seed=3, batch_size=1), width=64, height=64, steps=2)
    (path,) = save_result(tmp_path, request, family_engine.generate(Operation.TXT2IMG, request))
    parameters = read_png_parameters(path)
    fields = parse_a1111_parameters(parameters)
    if family.negative_prompts:
        assert parsed.draft_note == "" and fields["negative_prompt"] == "fog, rain"
        assert "Note" not in fields
    else:
        assert "has no negative prompt, so --no is ignored" in parsed.draft_note
        assert "Negative prompt" not in parameters and fields["negative_prompt"] == ""
        assert fields["Note"] == f"--no ignored ({family.name} has no negative prompt)"


def test_each_image_of_a_grid_is_reproducible_alone(family_engine) -> None:
    """Image 2 of the grid is image 1 of a one-image job with its seed."""
    grid = family_engine.generate(Operation.TXT2IMG, recipe(family_engine))
    alone = family_engine.generate(Operation.TXT2IMG, recipe(family_engine, seed=8, batch_size=1))
    assert np.abs(pixels(grid.images[1:2]) - pixels(alone.images)).max() <= 2


def test_variations_follow_the_source_image(family_engine) -> None:
    """img2img (V / Vary): Vary (Subtle) keeps the picture closer than a near-full repaint."""
    source = Image.effect_noise((64, 64), 80).convert("RGB").resize((64, 64))
    target = np.asarray(source, dtype=np.int16)
    distances = []
    for strength in (0.3, 0.95):
        result = family_engine.generate(
            Operation.IMG2IMG,
            recipe(family_engine, strength=strength, batch_size=2),
            GenerationInputs(image=source),
        )
        assert [image.size for image in result.images] == [(64, 64)] * 2
        distances.append(np.abs(pixels(result.images) - target).mean())
    assert distances[0] < distances[1]


@pytest.mark.parametrize("operation", [Operation.INPAINT, Operation.REGION])
def test_repainting_keeps_every_pixel_outside_the_mask(family_engine, operation: Operation) -> None:
    """Inpaint and Vary (Region) change only the masked area."""
    source = Image.effect_noise((64, 64), 60).convert("RGB")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 32))
    result = family_engine.generate(
        operation,
        recipe(family_engine, strength=1.0, batch_size=2),
        GenerationInputs(image=source, mask=mask),
    )
    kept = pixels(result.images)[:, 40:, 40:]
    assert np.array_equal(kept, np.broadcast_to(np.asarray(source, dtype=np.int16)[40:, 40:], kept.shape))


def test_zoom_out_paints_around_the_original(family_engine) -> None:
    """Outpaint: the original sits in its placement on the bigger canvas, unchanged."""
    source = Image.effect_noise((64, 64), 60).convert("RGB")
    result = family_engine.generate(
        Operation.OUTPAINT,
        recipe(family_engine, width=96, height=96, strength=1.0, batch_size=1),
        GenerationInputs(image=source, placement=(16, 16, 80, 80)),
    )
    (image,) = result.images
    assert image.size == (96, 96)
    centre = np.asarray(image, dtype=np.int16)[28:68, 28:68]
    assert np.array_equal(centre, np.asarray(source, dtype=np.int16)[12:52, 12:52])


def test_upscale_doubles_on_the_family_grid(family_engine) -> None:
    """Upscale: 2x, sides on the 16 px grid of SD 3 / FLUX."""
    source = Image.effect_noise((72, 56), 60).convert("RGB")
    result = family_engine.generate(
        Operation.UPSCALE, recipe(family_engine, strength=0.3, batch_size=1), GenerationInputs(image=source)
    )
    assert result.images[0].size == (144, 112)


def test_a_lora_changes_its_jobs_only(family_engine) -> None:
    """A transformer LoRA changes the images of the job carrying it; the weights are untouched after."""
    before = weights_hash(family_engine)
    plain = family_engine.generate(Operation.TXT2IMG, recipe(family_engine, batch_size=1))
    styled = family_engine.generate(
        Operation.TXT2IMG, recipe(family_engine, batch_size=1, loras=(("sparkle", 1.0),))
    )
    again = family_engine.generate(Operation.TXT2IMG, recipe(family_engine, batch_size=1))
    assert np.abs(pixels(plain.images) - pixels(styled.images)).max() > 0
    assert np.array_equal(pixels(plain.images), pixels(again.images))
    assert weights_hash(family_engine) == before


def test_draft_runs_fewer_steps(family_engine) -> None:
    """--draft on a new family: fewer steps of the base model (DRAFT_LORA is a UNet LoRA, unused)."""
    context = PromptContext(family=family_engine.family, draft_lora="lcm-lora-sdxl")
    (full,) = expand_prompt("a lighthouse --ar 1:1", context)
    (draft,) = expand_prompt("a lighthouse --draft", context)
    assert draft.steps < full.steps and draft.sampler == "" and draft.loras == ()
    request = replace(draft.to_generation(seed=3, batch_size=1), width=64, height=64)
    result = family_engine.generate(Operation.TXT2IMG, request)
    assert result.steps == draft.steps


def test_batching_across_jobs_matches_each_job_alone(family_engine) -> None:
    """Two jobs in one call: each gets its own prompt and seeds, the same images as alone."""
    first = recipe(family_engine, batch_size=2)
    second = recipe(family_engine, prompt="a green bird", seed=100, batch_size=2)
    together = family_engine.txt2img_jobs([first, second])
    alone = [family_engine.txt2img(first), family_engine.txt2img(second)]
    assert [result.seeds for result in together] == [[7, 8], [100, 101]]
    for joint, single in zip(together, alone, strict=True):
        assert np.abs(pixels(joint.images) - pixels(single.images)).max() <= 2


def test_shorten_reads_the_prompt_with_the_family_clip_encoder(family_engine) -> None:
    """/shorten works on SD 3 and FLUX (FLUX's pooled CLIP, not its T5): importances per word."""
    result = family_engine.generate(
        Operation.SHORTEN, recipe(family_engine, prompt="a red lighthouse at dusk")
    )
    assert result.images == [] and result.details["words"]


def test_image_prompts_use_the_documented_fallback(family_engine) -> None:
    """References (--sref, /blend) on SD 3 / FLUX: averaged latents + img2img, named in details."""
    from bot.engine.references import ReferenceImage, ReferenceKind

    images = [Image.new("RGB", (64, 64), colour) for colour in ((200, 0, 0), (0, 0, 200))]
    result = family_engine.generate(
        Operation.REFERENCE,
        recipe(family_engine, strength=0.7, batch_size=1),
        GenerationInputs(
            references=tuple(ReferenceImage(ReferenceKind.IMAGE, image, 1.0) for image in images)
        ),
    )
    assert result.images[0].size == (64, 64) and result.details["method"]


def test_tile_is_refused_in_one_line(family_engine) -> None:
    """--tile on a transformer family is a Midjourney-style line, not a traceback."""
    with pytest.raises(JobFailed, match="--tile is not available for this model"):
        family_engine.generate(Operation.TXT2IMG, recipe(family_engine, tile=True))


def test_hd_renders_in_two_passes_where_the_family_has_no_native_2mp(family_engine) -> None:
    """--hd: FLUX natively at ~2x the area; SD 3 native first, then the high-res pass."""
    context = PromptContext(family=family_engine.family)
    (hd,) = expand_prompt("a lighthouse --hd", context)
    assert hd.width * hd.height >= 1.8 * family_engine.family.native_area
    assert (hd.hires_from is None) == (family_engine.family.architecture == "flux")
    request = replace(
        hd.to_generation(seed=1, batch_size=1),
        steps=2,
        width=96,
        height=96,
        hires_from=hd.hires_from and (64, 64),
    )
    result = family_engine.generate(Operation.TXT2IMG, request)
    assert result.images[0].size == (96, 96)


# ----------------------------------------------------------------------------------------------
# Detection: the model's own config, a single file's tensor names, a hub id by name


def _folder(tmp_path: Path, name: str, pipeline: str, transformer: dict, vae_blocks: int = 4) -> Path:
    folder = tmp_path / name
    (folder / "transformer").mkdir(parents=True)
    (folder / "vae").mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    (folder / "transformer" / "config.json").write_text(json.dumps(transformer))
    (folder / "vae" / "config.json").write_text(json.dumps({"block_out_channels": [128] * vae_blocks}))
    return folder


@pytest.mark.parametrize(
    ("name", "pipeline", "transformer", "family"),
    [
        (
            "sd35",
            "StableDiffusion3Pipeline",
            {"_class_name": "SD3Transformer2DModel", "sample_size": 128},
            SD3,
        ),
        (
            "sd3.5-large-turbo",
            "StableDiffusion3Pipeline",
            {"_class_name": "SD3Transformer2DModel", "sample_size": 128},
            SD3_TURBO,
        ),
        (
            "small",
            "StableDiffusion3Pipeline",
            {"_class_name": "SD3Transformer2DModel", "sample_size": 16},
            TINY_SD3,
        ),
        ("dev", "FluxPipeline", {"_class_name": "FluxTransformer2DModel", "guidance_embeds": True}, FLUX_DEV),
        (
            "fast",
            "FluxPipeline",
            {"_class_name": "FluxTransformer2DModel", "guidance_embeds": False},
            FLUX_SCHNELL,
        ),
        (
            "narrow",
            "FluxPipeline",
            {"_class_name": "FluxTransformer2DModel", "joint_attention_dim": 64},
            TINY_FLUX,
        ),
    ],
)
def test_family_from_the_transformer_config(tmp_path: Path, name, pipeline, transformer, family) -> None:
    """The transformer's class tells SD 3 from FLUX; guidance_embeds dev from schnell; size the test models."""
    assert family_of_diffusers_folder(_folder(tmp_path, name, pipeline, transformer)) == family


def test_the_built_tiny_models_are_detected_as_their_families(family_engine) -> None:
    """The embedded tiny models read as tiny-sd3 / tiny-flux from their own configs."""
    assert family_of_diffusers_folder(Path(family_engine.source.location)) == family_engine.family


@pytest.mark.parametrize(
    ("key", "family"),
    [
        ("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight", SD3),
        ("double_blocks.0.img_attn.qkv.weight", FLUX_SCHNELL),
    ],
)
def test_family_from_a_single_file(tmp_path: Path, key: str, family) -> None:
    """A single-file checkpoint's tensor names tell its family (no weights read)."""
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({key: torch.zeros(1)}, str(path))
    assert family_of_checkpoint(path) == family


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("black-forest-labs/FLUX.1-schnell", FLUX_SCHNELL),
        ("black-forest-labs/FLUX.1-dev", FLUX_DEV),
        ("stabilityai/stable-diffusion-3.5-large", SD3),
        ("stabilityai/stable-diffusion-3.5-medium", SD3),
        ("stabilityai/stable-diffusion-3.5-large-turbo", SD3_TURBO),
        ("stabilityai/stable-diffusion-xl-base-1.0", SDXL),
    ],
)
def test_family_by_name_for_a_dry_run(name: str, family) -> None:
    """A hub id names its family before anything is downloaded."""
    assert family_for_name(name) == family


def test_flux_fill_repaints_zoom_out_when_configured(tmp_path: Path) -> None:
    """INPAINT_MODEL=a FLUX.1 Fill model: Zoom Out runs on it (its own guidance, shared encoders and
    VAE), the original is kept."""
    from bot.engine.loader import load_engine

    settings = Config.from_env(
        {
            "MODEL": "tiny-flux",
            "INPAINT_MODEL": "tiny-flux-fill",
            "MODELS_DIR": str(tmp_path),
            "DATA_DIR": str(tmp_path / "data"),
            "DEVICE": "cpu",
            "PRECISION": "fp32",
        }
    )
    engine = load_engine(settings)
    assert type(engine.masked_pipe).__name__ == "FluxFillPipeline"
    assert engine.masked_pipe.vae is engine.txt2img_pipe.vae
    source = Image.effect_noise((64, 64), 60).convert("RGB")
    result = engine.generate(
        Operation.OUTPAINT,
        recipe(engine, width=96, height=96, strength=1.0, batch_size=1),
        GenerationInputs(image=source, placement=(16, 16, 80, 80)),
    )
    assert result.guidance_scale == 30.0 and result.images[0].size == (96, 96)
    centre = np.asarray(result.images[0], dtype=np.int16)[28:68, 28:68]
    assert np.array_equal(centre, np.asarray(source, dtype=np.int16)[12:52, 12:52])


def test_an_inpainting_model_for_sd3_is_refused_in_one_line(tmp_path: Path) -> None:
    """INPAINT_MODEL with an SD 3 MODEL: one ConfigError line (SD 3 inpaints with its own weights)."""
    from bot.engine.loader import load_inpaint_pipeline
    from bot.errors import ConfigError

    settings = Config.from_env({"MODEL": "tiny-sd3", "INPAINT_MODEL": "x/y", "MODELS_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="INPAINT_MODEL is for SD 1"):
        load_inpaint_pipeline(settings, "sd3", None, None)


def test_a_single_file_flux_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    """MODEL=flux1-dev.safetensors (transformer only): one ConfigError line, nothing loaded."""
    import torch
    from safetensors.torch import save_file

    from bot.engine.loader import load_engine
    from bot.errors import ConfigError

    (tmp_path / "checkpoints").mkdir()
    save_file(
        {"double_blocks.0.img_attn.qkv.weight": torch.zeros(1)},
        str(tmp_path / "checkpoints" / "f.safetensors"),
    )
    settings = Config.from_env(
        {"MODEL": "f.safetensors", "MODELS_DIR": str(tmp_path), "DATA_DIR": str(tmp_path), "DEVICE": "cpu"}
    )
    with pytest.raises(
        ConfigError, match="single-file flux-schnell checkpoint: use the model's diffusers folder"
    ):
        load_engine(settings)


def test_exp_is_perturbed_attention_on_sd3_and_has_no_effect_on_flux(family_engine) -> None:
    """--exp on SD 3: its PAG pipelines (same weights) change txt2img and V, the same seed repeats,
    and the transformer's attention processors are back afterwards; SD 3 inpainting has no PAG
    pipeline (Vary (Region) is unchanged). On FLUX nothing changes, and the reply says so."""
    from bot.engine.aesthetics import pag_scale
    from bot.engine.interface import GenerationInputs

    family = family_engine.family
    is_sd3 = family.architecture == "sd3"
    transformer = family_engine.txt2img_pipe.transformer
    processors = {name: type(p) for name, p in transformer.attn_processors.items()}
    source = Image.effect_noise((64, 64), 60).convert("RGB")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 32))
    cases = {Operation.TXT2IMG: (GenerationInputs(), True)}
    if is_sd3:
        cases[Operation.IMG2IMG] = (GenerationInputs(image=source), True)
        cases[Operation.REGION] = (GenerationInputs(image=source, mask=mask), False)

    def run(operation: Operation, exp: int) -> np.ndarray:
        request = recipe(family_engine, batch_size=1, exp=exp, strength=0.8)
        return pixels(family_engine.generate(operation, request, cases[operation][0]).images)

    for operation, (_, pag) in cases.items():
        plain, strong = run(operation, 0), run(operation, 100)
        assert bool(np.abs(plain - strong).max() > 0) == (pag and is_sd3), operation
        assert {name: type(p) for name, p in transformer.attn_processors.items()} == processors
    assert np.array_equal(run(Operation.TXT2IMG, 100), run(Operation.TXT2IMG, 100))  # seeded: it repeats
    assert pag_scale(100) == 3.0 and pag_scale(25) == 0.75
    (parsed,) = expand_prompt("a lighthouse --exp 50", PromptContext(family=family))
    assert ("--exp has no effect on this model" in parsed.draft_note) == (not is_sd3)


@pytest.mark.parametrize("family_engine", ["tiny-sd3"], indirect=True)  # PAG is SD 3's
def test_a_cancelled_exp_job_leaves_no_perturbed_attention_behind(family_engine) -> None:
    """A --exp job on SD 3 cancelled mid-way (the step callback raises): the PAG processor is taken
    off the shared transformer, so the next plain job equals one run before it."""
    assert family_engine.family.architecture == "sd3"
    before = pixels(family_engine.generate(Operation.TXT2IMG, recipe(family_engine, batch_size=1)).images)

    def cancel(progress) -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        family_engine.generate(Operation.TXT2IMG, recipe(family_engine, batch_size=1, exp=80), on_step=cancel)
    after = pixels(family_engine.generate(Operation.TXT2IMG, recipe(family_engine, batch_size=1)).images)
    assert np.array_equal(before, after)


@pytest.mark.parametrize("family", [SD3, FLUX_DEV, TINY_FLUX])
@pytest.mark.parametrize("zoom", ["16:9", "7:4", "21:9", "5:4", "2:3"])
def test_zoom_canvases_sit_on_the_16_px_grid(family, zoom: str) -> None:
    """Custom Zoom / Make Square / Pan canvases of SD 3 and FLUX are multiples of 16 (2x2 latent
    patches): the canvas grid halves toward the ratio only down to 16 there (8 elsewhere)."""
    from bot.engine.canvas import pan_layout, zoom_layout

    width, height = (int(side) for side in zoom.split(":"))
    for layout in (
        zoom_layout((720, 560), 1.25, family, (width, height)),
        pan_layout((720, 560), "right", family),
    ):
        assert layout.width % 16 == 0 and layout.height % 16 == 0, layout
