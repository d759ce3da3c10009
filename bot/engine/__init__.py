"""Stable Diffusion through diffusers. Imports nothing from discord.py.

Heavy modules (torch, diffusers) load only when `bot.engine.loader.load_engine` or
`bot.engine.engine` is imported, so the prompt language and CLI start fast.
"""
