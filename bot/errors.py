"""The project's error family.

`UserFacingError` and its subclasses carry a Midjourney-style title and a message meant for the
person who typed the prompt; the Discord front shows them as ephemeral embeds and the CLI prints
them to stderr. `ConfigError` is for the operator: one clear line at start-up, never a traceback.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error caused by what a user typed or asked for; safe to show them."""

    title = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


class InvalidParameter(UserFacingError):
    title = "Invalid parameter"


class InvalidPrompt(UserFacingError):
    title = "Invalid prompt"


class EmptyPrompt(UserFacingError):
    title = "Empty prompt"


class InvalidLink(UserFacingError):
    title = "Invalid link"


class BannedPrompt(UserFacingError):
    title = "Banned prompt detected"


class QueueFull(UserFacingError):
    title = "Queue full"


class DiskFull(UserFacingError):
    title = "Disk full"


class JobNotFound(UserFacingError):
    title = "Job not found"


class JobFailed(UserFacingError):
    title = "Job failed"


class NotAvailable(UserFacingError):
    """A feature whose model this bot does not have (checked before anything is queued)."""

    title = "Not available"


class ConfigError(Exception):
    """A setting or model the operator gave cannot be used. The message is one line."""


class DatabaseUnavailable(ConfigError):
    """The database in DATA_DIR cannot be opened (damaged, locked, disk full, not a folder)."""
