# midigen: every task a developer or CI runs. `make setup` makes .venv/ and installs the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch 2.13.0 (on this project's machines it lies on disk; elsewhere PyPI serves it).
TORCH_SPEC ?= torch==2.13.0
CORPORA := bach-chorales irish-oneills fiddle-ryans essen-german essen-chinese palestrina

.PHONY: setup test test-slow lint bench fuzz demo corpora styles clean-cache

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

# Hostile-file fuzzing: FUZZ_FILES=100000 for a long run.
FUZZ_FILES ?= 10000
fuzz: setup
	$(PY) -m bench.fuzz --files $(FUZZ_FILES) --seed 0

# The main job on the shipped style: two 16-bar chorales, written to out/.
demo: setup
	$(PY) -m midigen compose --style bach-chorales --bars 16 --key "D minor" --tempo 76 --seed 1 -o out/chorale-d-minor.mid --force
	$(PY) -m midigen compose --style bach-chorales --bars 16 --key "G major" --time-sig 3/4 --tempo 88 --seed 2 -o out/chorale-g-major.mid --force
	@echo "demo: wrote out/chorale-d-minor.mid and out/chorale-g-major.mid (drag them into your DAW)"

corpora: setup
	for c in $(CORPORA); do $(PY) -m midigen corpus import music21 $$c corpora/$$c || exit 1; done

# Rebuild the shipped style bundles exactly as they were made (see styles/README.md for timings).
STYLE_TRAINING := --size small --steps 400 --batch-size 8 --seq-len 512 --eval-every 100 --seed 0 --styles-dir styles
styles: setup
	$(PY) -m midigen corpus import music21 bach-chorales corpora/bach-chorales
	$(PY) -m midigen train --style bach-chorales corpora/bach-chorales $(STYLE_TRAINING)

clean-cache:
	rm -rf $${MIDIGEN_CACHE:-$$HOME/.cache/midigen}
