# The course's commands. Every target runs with .venv/bin first on PATH, so the
# tools nbgrader calls by name (alembic, jupyter) come from the project's venv.

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export VIRTUAL_ENV := $(VENV)
PORT ?= 8888
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9][0-9]_*))
# JupyterLab refuses to run as root unless told; containers and CI run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test bench bench-grade release execute clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

lab: install  ## JupyterLab on the course; `make lab PORT=8899` for another port
	@echo "Starting JupyterLab on port $(PORT); open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below."
	jupyter lab --no-browser $(ALLOW_ROOT) --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.port_retries=0 --ServerApp.root_dir=$(CURDIR)

test: install  ## the whole suite: unit and property tests, nbval on solutions/, grading
	python -m pytest

bench: install  ## em_lib against scikit-learn, side by side, one BLAS thread
	python benchmarks/bench_em.py

bench-grade: install  ## autograde a synthetic class of 50 students; seconds per notebook
	python benchmarks/bench_grade.py

execute: install  ## run every solution notebook top to bottom and store its outputs
	for a in $(ASSIGNMENTS); do \
		jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.record_timing=False \
			solutions/$$a/$$a.ipynb || exit 1; \
	done

release: install  ## regenerate the student release notebooks/ from solutions/
	for a in $(ASSIGNMENTS); do nbgrader generate_assignment $$a --force || exit 1; done

clean:
	rm -rf .nbgrader gradebook.db .pytest_cache .hypothesis
