# The course's commands. Every target runs with .venv/bin first on PATH, so the
# tools nbgrader calls by name (alembic, jupyter) come from the project's venv.

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export VIRTUAL_ENV := $(VENV)
PORT ?= 8888
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9][0-9]_*))
JOBS ?= 1
# JupyterLab refuses to run as root unless told; containers and CI run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
# JupyterLab's settings for everyone using the venv (below the user's own settings).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: install sandbox-tools browser-tools lab test test-fast site bench bench-grade bench-grade-class grade report release execute clean hub

install: $(VENV)/.installed $(LAB_OVERRIDES)

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,site]"
	@touch $@

# No first-run noise in the course's JupyterLab: no "official Jupyter news?" toast, no update check.
$(LAB_OVERRIDES): $(VENV)/.installed
	@mkdir -p $(@D)
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

# The shell functions the tools' recipes below start with: `as_root_with_apt` is true as root where apt-get
# is (Debian or Ubuntu: CI, a grading server); `apt_install PACKAGE WHY` installs the Debian package, saying why.
APT_FUNCTIONS = as_root_with_apt() { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }; \
	apt_install() { echo "Installing $$1 ($$2)"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$$1" >/dev/null; }

# Grading runs students' code in bubblewrap (see docs/instructors.md). As root on Debian or
# Ubuntu (CI, a grading server) it is installed here; elsewhere the line says what to do.
sandbox-tools:  ## bubblewrap, the sandbox grading runs students' code in
	@$(APT_FUNCTIONS); command -v bwrap >/dev/null 2>&1 || { \
		if as_root_with_apt; then apt_install bubblewrap "grading runs students' code in it"; \
		else \
			echo "NOTE: bubblewrap (bwrap) is not installed: grading would run students' code unprotected and the"; \
			echo "      sandbox tests fail. Install it: sudo apt-get install bubblewrap (Fedora: dnf install bubblewrap)."; \
		fi; }

# The browser tests (tests/test_browser.py) drive the system's Chromium with Playwright (Playwright's
# own browser download is not used). As root on Debian (CI) it is installed here; elsewhere the line says what to do.
# The places tests/browser.py looks at ($CHROMIUM first; Google Chrome will do).
CHROMIUM_PATHS := /usr/lib/chromium/chromium /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome
browser-tools:  ## Chromium, the browser the JupyterLab tests drive, and a Chinese font for its pages
	@$(APT_FUNCTIONS); found=; for b in "$$CHROMIUM" $(CHROMIUM_PATHS); do test -x "$$b" && found=1 && break; done; \
	if [ -z "$$found" ]; then \
		if as_root_with_apt; then apt_install chromium "the browser tests drive it"; \
		else \
			echo "NOTE: Chromium is not installed: the browser tests (tests/test_browser.py) fail without it."; \
			echo "      Install it: sudo apt-get install chromium, or set CHROMIUM=/path/to/chrome-or-chromium."; \
		fi; \
	fi; \
	if as_root_with_apt && [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
		apt_install fonts-wqy-zenhei "Chinese in the glossary and the 中文导读, in Chromium"; \
	fi

lab: install  ## JupyterLab on the course; `make lab PORT=8899` for another port
	@echo "Starting JupyterLab on port $(PORT); open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below."
	jupyter lab --no-browser $(ALLOW_ROOT) --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.port_retries=0 --ServerApp.root_dir=$(CURDIR)

test: install sandbox-tools browser-tools  ## the whole suite: unit and property tests, nbval on solutions/, grading
	python -m pytest

# The `slow` marker is given by module in tests/conftest.py; nbval is off, so no notebook runs.
test-fast: install  ## the unit and property tests only (no grading, sandbox, servers, browser, nbval): well under a minute
	python -m pytest -m "not slow" -p no:nbval -p no:cacheprovider -o addopts=""

bench: install  ## em_lib against scikit-learn, side by side, one BLAS thread
	python benchmarks/bench_em.py

bench-grade: install sandbox-tools  ## autograde a synthetic class of 50 students; seconds per notebook
	python benchmarks/bench_grade.py

bench-grade-class: install sandbox-tools  ## a class of 200 on one assignment with `make grade`'s command, JOBS=1 and 2
	python benchmarks/bench_grade_class.py

grade: install sandbox-tools  ## autograde ASSIGNMENT=<name> with JOBS processes (default 1); FORCE=1 grades the graded again
	@test -n "$(ASSIGNMENT)" || { echo "Usage: make grade ASSIGNMENT=04_e_and_m_steps [JOBS=4] [FORCE=1]"; exit 2; }
	python -m course_grading.parallel '$(ASSIGNMENT)' --jobs $(JOBS) $(if $(filter 1 yes true,$(FORCE)),--force,)

# The class report (student data: reports/ is git-ignored). REPORT_URL: the Jupyter server running the formgrader.
report: install  ## reports/ASSIGNMENT/index.html: scores, misconceptions, what waits for a grader; without ASSIGNMENT the course's
	python -m course_grading.report $(if $(ASSIGNMENT),'$(ASSIGNMENT)',) $(if $(REPORT_URL),--url '$(REPORT_URL)',)

execute: install  ## run every solution notebook top to bottom and store its outputs
	for a in $(ASSIGNMENTS); do \
		jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.record_timing=False \
			--ExecutePreprocessor.store_widget_state=False \
			solutions/$$a/$$a.ipynb || exit 1; \
	done

site: install  ## the course as a static website in build/site/html (offline)
	python site/build.py

release: install  ## regenerate the student release notebooks/ from solutions/
	for a in $(ASSIGNMENTS); do nbgrader generate_assignment $$a --force || exit 1; done

clean:
	rm -rf .nbgrader gradebook.db .pytest_cache .hypothesis

# The class on a JupyterHub (docs/instructors.md, "Running a class on JupyterHub"): as
# root, an environment every user can run (a system Python: a venv of a Python in
# root's home is unreadable to the students), then accounts, exchange and Hub.
HUB_ROOT ?= /srv/em-course-hub
HUB_PORT ?= 8000
HUB_PYTHON ?= /usr/bin/python3
HUB_INSTRUCTOR ?= instructor
HUB_STUDENTS ?= student1,student2,student3
HUB_HOMES ?= /home
HUB_GRADERS ?= em-course-graders

hub: sandbox-tools  ## the class's JupyterHub: instructor and students as Unix accounts (root; Ctrl-C stops it)
	@test "$$(id -u)" = 0 || { echo "make hub makes Unix accounts and runs each server as its user: run it as root."; exit 1; }
	@$(HUB_PYTHON) -c "import ensurepip" 2>/dev/null || { echo "Installing python3-venv (the Hub's environment is a venv of $(HUB_PYTHON))"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	@test -x $(HUB_ROOT)/venv/bin/python || { mkdir -p $(HUB_ROOT) && chmod 755 $(HUB_ROOT) && $(HUB_PYTHON) -m venv $(HUB_ROOT)/venv; }
	$(HUB_ROOT)/venv/bin/python -m pip install --quiet "jupyterhub>=5.3" "configurable-http-proxy>=0.4" .
	$(HUB_ROOT)/venv/bin/python -m pip install --quiet --no-deps --force-reinstall .
	exec $(HUB_ROOT)/venv/bin/python -m course_hub up --root $(HUB_ROOT) --port $(HUB_PORT) \
		--instructor $(HUB_INSTRUCTOR) --students $(HUB_STUDENTS) --home-root $(HUB_HOMES) \
		--graders-group $(HUB_GRADERS) --repository $(CURDIR)
