# The README's two commands are `make demo` and `make test`; CI runs `make check` (lint, types, tests).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint format typecheck setup model lock bench bench-tag bench-warehouse bench-backfill clean serve stop

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

model: $(STAMP)
	$(BIN)/newswatch model ensure

demo: model
	$(BIN)/newswatch demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# A local Prefect server on 127.0.0.1, the work pool, every deployment of deployments/prefect.yaml and a
# process worker (flows/serve.py); `make stop` ends exactly what `make serve` started (recorded in
# <data dir>/prefect/serve.json). PORT=4300 picks the server's port (default 4200 if free).
serve: model
	$(BIN)/python -m flows.serve start $(if $(PORT),--port $(PORT))

stop: $(STAMP)
	$(BIN)/python -m flows.serve stop

bench: model
	$(BIN)/python bench/bench_pipeline.py

# Our tagging against bare nlp.pipe on 1,000 real articles (about 6 minutes here).
bench-tag: model
	$(BIN)/python bench/tag.py

# Synthetic warehouse (1M articles, 10M mentions, 2M quotes at full scale): load rates and the median time
# of every trend query. ARGS="--scale 0.1" for a quick run (see bench/warehouse.py).
bench-warehouse: $(STAMP)
	$(BIN)/python bench/warehouse.py $(ARGS)

# Backfill throughput: end to end vs the raw limit with 1 and 2 processes, and the prefilter's scan rate
# (5,000-page WARCs built from ../shared/data/articles; tens of minutes on 2 cores).
bench-backfill: model
	$(BIN)/python bench/backfill.py

# Regenerate the pinned lock from requirements.in (needs uv: `pip install uv`).
lock:
	uv pip compile requirements.in --python-version 3.11 --no-header --no-annotate -o requirements.lock.tmp
	(echo "# Pinned lock of requirements.in; regenerate with \`make lock\` (uv pip compile, no URLs)."; cat requirements.lock.tmp) > requirements.lock
	rm requirements.lock.tmp

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache
