# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first, pinned: the local CPU wheel (any other version pulls a multi-GB CUDA build)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	# tinysoundfont's only dependency (pyaudio) is for live playback and does not build here
	$(PIP) install --no-deps tinysoundfont==0.3.7
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV)

# The offline suite end to end (synthesised data, tiny pretraining, probes, table, plots); resumable.
demo: $(STAMP)
	$(PY) -m benchmarks.demo --readme README.md
