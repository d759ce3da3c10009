"""A Midjourney-style Discord bot on Stable Diffusion."""

__version__ = "0.1.0"
