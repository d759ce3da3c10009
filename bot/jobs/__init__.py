"""The durable GPU job system: storage, fair scheduling, the worker bridge and delivery.

Fronts (Discord, the web app, the CLI) use `JobService` (service.py) with `NewJob` / `Job`
(models.py) and the events of events.py. Nothing here imports discord or `bot.store`: storage is
reached through the `JobRecords` protocol (ports.py) that the store's `Repository` satisfies.
"""
