"""The web app (aiohttp + Jinja2): create, archive, job pages, the Vary (Region) editor.

`bot.web.links` builds links into it without importing aiohttp; `bot.web.app` builds the server.
"""
