# midigen: every task a developer or CI runs. `make setup` makes .venv/ and installs the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch 2.13.0 (on this project's machines it lies on disk; elsewhere PyPI serves it).
TORCH_SPEC ?= torch==2.13.0
CORPORA := bach-chorales irish-oneills fiddle-ryans essen-german essen-chinese palestrina

.PHONY: setup test test-slow lint bench demo corpora styles clean-cache

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,bench]"
	touch $@

test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

lint: setup
	$(PY) -m ruff check midigen tests bench

bench: setup
	$(PY) -m bench.run_all

demo: setup
	$(PY) -m midigen corpus import music21 bach-chorales out/corpora/bach-chorales --limit 24
	$(PY) -m midigen corpus stats out/corpora/bach-chorales
	$(PY) -m midigen corpus split out/corpora/bach-chorales

corpora: setup
	for c in $(CORPORA); do $(PY) -m midigen corpus import music21 $$c corpora/$$c || exit 1; done

styles: setup
	@echo "styles: see styles/README.md (needs issue 'train' to land)"; exit 1

clean-cache:
	rm -rf $${MIDIGEN_CACHE:-$$HOME/.cache/midigen}
