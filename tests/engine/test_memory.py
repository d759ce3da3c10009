"""GPU memory settings for big models (OFFLOAD, QUANTIZE, DROP_T5): what each family accepts,
one ConfigError line for every misfit, and SD 3 running without its T5 encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.engine.family import FLUX_DEV, FLUX_SCHNELL, SD3, SDXL
from bot.engine.memory import apply_offload, load_options, quantization_config
from bot.errors import ConfigError


def settings(**env: str) -> Config:
    return Config.from_env({"MODEL": "tiny", **{key.upper(): value for key, value in env.items()}})


@pytest.mark.parametrize(
    ("env", "family", "device", "message"),
    [
        ({"drop_t5": "1"}, FLUX_DEV, "cuda", "DROP_T5=1 is for Stable Diffusion 3.x"),
        ({"quantize": "8bit"}, SDXL, "cuda", "is for SD 3.x and FLUX"),
        ({"quantize": "4bit"}, FLUX_DEV, "cpu", "needs a CUDA GPU"),
    ],
)
def test_misfits_are_one_line(env: dict[str, str], family, device: str, message: str) -> None:
    """A memory setting that does not fit the model or device stops start-up with one line."""
    with pytest.raises(ConfigError, match=message):
        load_options(settings(**env), family, device)


def test_defaults_change_nothing() -> None:
    """OFFLOAD=off, QUANTIZE=off, DROP_T5=0: no extra loading arguments, no offload."""
    import torch

    assert load_options(settings(), SD3, "cuda") == {}
    assert apply_offload(object(), "off", torch.device("cpu")) is False


def test_offload_needs_cuda() -> None:
    """OFFLOAD=model on a CPU is a one-line error, not a silent no-op."""
    import torch

    with pytest.raises(ConfigError, match="OFFLOAD=model"):
        apply_offload(object(), "model", torch.device("cpu"))


def test_sd3_runs_without_its_t5_encoder(tmp_path: Path) -> None:
    """DROP_T5=1: the tiny SD 3 loads without T5 and still renders a grid (CLIP reads the prompt)."""
    from bot.engine.interface import Operation
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest

    engine = load_engine(
        Config.from_env(
            {
                "MODEL": "tiny-sd3",
                "DROP_T5": "1",
                "MODELS_DIR": str(tmp_path),
                "DEVICE": "cpu",
                "PRECISION": "fp32",
            }
        )
    )
    assert engine.txt2img_pipe.text_encoder_3 is None
    result = engine.generate(Operation.TXT2IMG, GenerationRequest("a lighthouse", 64, 64, seed=1, steps=2))
    assert len(result.images) == 4


def test_quantize_without_bitsandbytes_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """QUANTIZE on a CUDA machine without the bitsandbytes package: one line naming the package."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a)
    )
    with pytest.raises(ConfigError, match="needs the bitsandbytes package"):
        load_options(settings(quantize="8bit"), FLUX_DEV, "cuda")


@pytest.mark.parametrize(
    ("mode", "family", "drop_t5", "t5", "flags"),
    [
        ("8bit", FLUX_DEV, False, "text_encoder_2", {"load_in_8bit": True}),
        ("4bit", FLUX_SCHNELL, False, "text_encoder_2", {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}),
        ("4bit", SD3, False, "text_encoder_3", {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}),
        ("8bit", SD3, True, "text_encoder_3", {"load_in_8bit": True}),
    ],
)
def test_quantize_builds_diffusers_pipeline_config(mode, family, drop_t5, t5, flags) -> None:
    """QUANTIZE=8bit|4bit: diffusers' PipelineQuantizationConfig on the bitsandbytes backend for the
    transformer and the family's T5 encoder (not when DROP_T5 dropped it); the CLIP encoders and the
    VAE stay unquantized. The T5's own config (transformers' BitsAndBytesConfig) is resolved here
    for real; the transformer's (diffusers' BitsAndBytesConfig) needs the bitsandbytes package,
    so it is resolved only where that is installed (CUDA machines)."""
    import importlib.util

    from diffusers import PipelineQuantizationConfig

    config = quantization_config(mode, family, drop_t5)
    assert isinstance(config, PipelineQuantizationConfig)
    assert config.quant_backend == f"bitsandbytes_{mode}"
    assert config.quant_kwargs == flags
    assert config.components_to_quantize == ["transformer"] + ([] if drop_t5 else [t5])
    for name in ("text_encoder", "text_encoder_2", "vae", t5):
        resolved = config._resolve_quant_config(is_diffusers=name == "vae", module_name=name)
        if name == t5 and not drop_t5:
            assert type(resolved).__module__.startswith("transformers")
            assert type(resolved).__name__ == "BitsAndBytesConfig"
            assert {key: getattr(resolved, key) for key in flags} == flags
        else:
            assert resolved is None
    if importlib.util.find_spec("bitsandbytes") is not None:
        transformer = config._resolve_quant_config(is_diffusers=True, module_name="transformer")
        assert type(transformer).__module__.startswith("diffusers")
        assert {key: getattr(transformer, key) for key in flags} == flags


def test_four_bit_layers_compute_in_the_precisions_dtype() -> None:
    """QUANTIZE=4bit on a bf16 GPU: the nf4 layers compute in bf16 (bitsandbytes' default is fp32);
    the T5's resolved BitsAndBytesConfig says so. 8-bit has no compute dtype to set."""
    import torch

    config = quantization_config("4bit", SD3, compute_dtype=torch.bfloat16)
    assert config.quant_kwargs["bnb_4bit_compute_dtype"] is torch.bfloat16
    t5 = config._resolve_quant_config(is_diffusers=False, module_name="text_encoder_3")
    assert t5.bnb_4bit_compute_dtype == torch.bfloat16
    assert (
        "bnb_4bit_compute_dtype"
        not in quantization_config("8bit", SD3, compute_dtype=torch.bfloat16).quant_kwargs
    )


def test_load_options_carry_the_quantization_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """On CUDA with bitsandbytes, QUANTIZE=4bit (+ DROP_T5 on SD 3) reaches from_pretrained as
    options: the pipeline config for the transformer only, and no T5 at all."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "bitsandbytes" else real(name, *a)
    )
    options = load_options(settings(quantize="4bit", drop_t5="1"), SD3, "cuda")
    assert options["text_encoder_3"] is None and options["tokenizer_3"] is None
    assert options["quantization_config"].components_to_quantize == ["transformer"]


def _tiny_sd3_pipeline(request: pytest.FixtureRequest):
    from diffusers import DiffusionPipeline

    from bot.engine.tiny_flow import build_tiny_flow_model

    folder = build_tiny_flow_model(Path(request.config.cache.mkdir("models")) / "tiny-sd3", "sd3")
    pipeline = DiffusionPipeline.from_pretrained(folder)
    pipeline.set_progress_bar_config(disable=True)
    return folder, pipeline


def test_model_offload_hooks_every_component_to_the_gpu(request: pytest.FixtureRequest) -> None:
    """OFFLOAD=model on the tiny SD 3, for real (accelerate's hooks are set up without touching a
    GPU): every component gets a CPU-offload hook whose execution device is the GPU, the weights
    stay on the CPU, and the engine built on it never moves them, its img2img / inpaint pipelines
    (from_pipe) run on the same GPU through the same hooks."""
    import torch

    from bot.engine.engine import DiffusersEngine
    from bot.engine.family import TINY_SD3
    from bot.engine.source import ModelSource

    folder, pipeline = _tiny_sd3_pipeline(request)
    gpu = torch.device("cuda")
    assert apply_offload(pipeline, "model", gpu) is True
    for name in ("text_encoder", "text_encoder_2", "text_encoder_3", "transformer", "vae"):
        component = getattr(pipeline, name)
        assert type(component._hf_hook).__name__ == "CpuOffload"
        assert component._hf_hook.execution_device == torch.device("cuda:0")
        assert next(component.parameters()).device.type == "cpu"
    source = ModelSource("tiny", str(folder), TINY_SD3, "tiny-sd3")
    engine = DiffusersEngine(pipeline, source=source, device=gpu, dtype=torch.float32, offloaded=True)
    for pipe in (engine.txt2img_pipe, engine.img2img_pipe, engine.inpaint_pipe):
        assert pipe._execution_device == torch.device("cuda:0")
        assert pipe.transformer is pipeline.transformer
    assert next(engine.txt2img_pipe.transformer.parameters()).device.type == "cpu"


def test_sequential_offload_streams_each_component_to_the_gpu(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OFFLOAD=sequential: accelerate's `cpu_offload` (which moves buffers to the GPU at once, so it
    cannot run without one: faked here at that boundary only) is asked for every component with
    the GPU as the execution device."""
    import accelerate
    import torch

    calls: list[tuple[str, torch.device]] = []
    monkeypatch.setattr(
        accelerate, "cpu_offload", lambda model, device, **_: calls.append((type(model).__name__, device))
    )
    _, pipeline = _tiny_sd3_pipeline(request)
    assert apply_offload(pipeline, "sequential", torch.device("cuda")) is True
    assert {name for name, _ in calls} >= {"SD3Transformer2DModel", "AutoencoderKL", "T5EncoderModel"}
    assert {device for _, device in calls} == {torch.device("cuda:0")}
