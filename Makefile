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

.PHONY: install sandbox-tools lab test bench bench-grade release execute clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

# Grading runs students' code in bubblewrap (see docs/instructors.md). As root on Debian or
# Ubuntu (CI, a grading server) it is installed here; elsewhere the line says what to do.
sandbox-tools:  ## bubblewrap, the sandbox grading runs students' code in
	@command -v bwrap >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing bubblewrap (grading runs students' code in it)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
		else \
			echo "NOTE: bubblewrap (bwrap) is not installed: grading would run students' code unprotected and the"; \
			echo "      sandbox tests fail. Install it: sudo apt-get install bubblewrap (Fedora: dnf install bubblewrap)."; \
		fi; }

lab: install  ## JupyterLab on the course; `make lab PORT=8899` for another port
	@echo "Starting JupyterLab on port $(PORT); open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below."
	jupyter lab --no-browser $(ALLOW_ROOT) --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.port_retries=0 --ServerApp.root_dir=$(CURDIR)

test: install sandbox-tools  ## the whole suite: unit and property tests, nbval on solutions/, grading
	python -m pytest

bench: install  ## em_lib against scikit-learn, side by side, one BLAS thread
	python benchmarks/bench_em.py

bench-grade: install sandbox-tools  ## autograde a synthetic class of 50 students; seconds per notebook
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
