"""Several models behind one engine interface, for `--version` / `--niji` (MODEL_ALIASES).

The default model (`MODEL`) stays loaded. A request naming another model (`request.model`, the
alias target the prompt language resolved) loads that one on first use; only one such extra model
is kept at a time, so a single GPU holds at most two. Runs on the worker thread like any engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.engine.family import ModelFamily
from bot.engine.interface import NO_INPUTS, GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback
from bot.errors import ConfigError, JobFailed

log = logging.getLogger(__name__)


class ModelPool:
    """Dispatches each request to the engine of its model; an `interface.Engine` itself."""

    def __init__(self, default_model: str, load: Callable[[str], Any]) -> None:
        self._load = load
        self.default_model = default_model
        self.default = load(default_model)
        self._extra: tuple[str, Any] | None = None

    @property
    def family(self) -> ModelFamily:
        return self.default.family

    @property
    def model_name(self) -> str:
        return self.default.model_name

    @property
    def loaded_models(self) -> list[str]:
        """The models held now: the default first, then the extra one if any."""
        return [self.default_model] + ([self._extra[0]] if self._extra is not None else [])

    def engine_for(self, model: str) -> Any:
        """The engine for `model` ("" = default), loading it (and unloading the last extra) if needed."""
        if not model or model == self.default_model:
            return self.default
        if self._extra is not None and self._extra[0] == model:
            return self._extra[1]
        if self._extra is not None:
            log.info("Unloading model %s to make room for %s", self._extra[0], model)
            self._extra = None
            self.default.free_memory()
        try:
            engine = self._load(model)
        except ConfigError as error:
            # The operator's alias is wrong; the member gets a clear message, the bot carries on.
            raise JobFailed(f"The model for this version could not be loaded ({error}).") from error
        self._extra = (model, engine)
        return engine

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs = NO_INPUTS,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        return self.engine_for(request.model).generate(operation, request, inputs, on_step)

    def txt2img_jobs(
        self, requests: list[GenerationRequest], on_step: StepCallback | None = None
    ) -> list[GenerationResult]:
        """Several jobs' txt2img in one call on their (shared) model: see DiffusersEngine.txt2img_jobs."""
        return self.engine_for(requests[0].model).txt2img_jobs(requests, on_step)

    def free_memory(self) -> None:
        self.default.free_memory()
