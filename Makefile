# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# With TELEGRAM_BOT_TOKEN set: the real bot (polling, or webhook per config.toml).
# Without it: the offline demo day against the sandbox, then how to get a token.
run: $(BIN)/.installed
	$(BIN)/python -m bot run --demo-without-token

test: $(BIN)/.installed
	bash .ci/postgres-up
	$(BIN)/pytest
