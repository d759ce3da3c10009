"""The durable GPU job system: storage, fair scheduling, the worker bridge and delivery.

Fronts (Discord, CLI) use `JobService` (service.py) with `NewJob` / `Job` (models.py) and the
events of events.py. Nothing here imports discord.
"""
