# Two commands do all the set-up: `make run` (the bot and its web app, from .env) and `make test` (lint + tests).
# Both create .venv and install the pinned dependencies on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Optional extras to install besides the test tools, e.g. `make test EXTRAS=test,ray` (CI does).
EXTRAS ?= test
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: run test lint format imagine clean

run: $(STAMP)
	@test -f .env || { (umask 077 && cp .env.example .env); echo "Created .env (mode 600) from .env.example. Without DISCORD_TOKEN the web app runs alone (local mode)."; }
	$(BIN)/python -m bot run

test: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix bot tests benchmarks
	$(BIN)/ruff format bot tests benchmarks

# make imagine PROMPT="a red fox --ar 16:9"
imagine: $(STAMP)
	$(BIN)/python -m bot imagine "$(PROMPT)" -o grid.png

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
