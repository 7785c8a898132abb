# midigen: every task a developer or CI runs. `make setup` makes .venv/ and installs the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch 2.13.0 (on this project's machines it lies on disk; elsewhere PyPI serves it).
TORCH_SPEC ?= torch==2.13.0
CORPORA := bach-chorales irish-oneills fiddle-ryans essen-german essen-chinese palestrina

.PHONY: setup test test-slow lint bench bench-quality bench-sketch fuzz demo corpora styles style-jazz clean-cache

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,bench]"
	touch $@

# The default run leaves out tests marked slow (pyproject's addopts: -m 'not slow'): end-to-end training,
# subprocess and torchrun tests of several seconds each. test-slow runs exactly those; its -m comes after
# addopts on pytest's command line, and the last -m given is the one pytest uses.
test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

lint: setup
	$(PY) -m ruff check midigen tests bench

bench: setup
	$(PY) -m bench.run_all

# midigen vs HF GPT-2 on MidiTok REMI, test bits/note on two corpora (the issue's GPU protocol on CUDA, else a small CPU config).
bench-quality: setup
	$(PY) -m bench.quality_bench

# continue / infill / --chords on the shipped styles, against the real music of their test splits.
bench-sketch: setup
	$(PY) -m bench.continue_bench --style bach-chorales --corpus corpora/bach-chorales
	$(PY) -m bench.infill_bench --style bach-chorales --corpus corpora/bach-chorales
	$(PY) -m bench.infill_bench --style irish-folk --corpus corpora/irish-oneills --json bench/results/infill-irish-folk.json
	$(PY) -m bench.chords_bench --style irish-folk --corpus corpora/irish-oneills
	$(PY) -m bench.chords_bench --style bach-chorales --corpus corpora/bach-chorales

# Hostile-file fuzzing: FUZZ_FILES=100000 for a long run.
FUZZ_FILES ?= 10000
fuzz: setup
	$(PY) -m bench.fuzz --files $(FUZZ_FILES) --seed 0

# The main job on two shipped styles: a 16-bar chorale and a 16-bar Irish tune, written to out/.
demo: setup
	$(PY) -m midigen compose --style bach-chorales --bars 16 --key "D minor" --tempo 76 --seed 1 -o out/chorale-d-minor.mid --force
	$(PY) -m midigen compose --style irish-folk --bars 16 --key "G major" --seed 2 -o out/irish-tune-g-major.mid --force
	@echo "demo: wrote out/chorale-d-minor.mid and out/irish-tune-g-major.mid (drag them into your DAW)"

corpora: setup
	for c in $(CORPORA); do $(PY) -m midigen corpus import music21 $$c corpora/$$c || exit 1; done
	$(PY) -m midigen corpus import mma corpora/mma

# Rebuild the shipped style bundles exactly as they were made (see styles/README.md for timings): the
# multi-style base from five corpora, then each style fine-tuned from it. Palestrina is not shipped (its
# encodings' licence reserves derivative formats); bench/finetune_bench.py uses it as the unseen style.
BASE_CORPORA := bach-chorales irish-oneills fiddle-ryans essen-german essen-chinese
BASE_TRAINING := --from none --size small --steps 1500 --batch-size 8 --seq-len 512 --eval-every 250 --seed 0 --styles-dir styles
FINE_TUNING := --steps 150 --batch-size 8 --seq-len 512 --eval-every 50 --seed 0 --styles-dir styles
SHIPPED := bach-chorales:bach-chorales irish-folk:irish-oneills fiddle:fiddle-ryans chinese-folk:essen-chinese german-folk:essen-german
styles: setup
	for c in $(BASE_CORPORA); do $(PY) -m midigen corpus import music21 $$c corpora/$$c || exit 1; done
	$(PY) -m midigen train --style base $(addprefix corpora/,$(BASE_CORPORA)) $(BASE_TRAINING)
	for s in $(SHIPPED); do $(PY) -m midigen train --style $${s%%:*} corpora/$${s#*:} $(FINE_TUNING) || exit 1; done
	$(MAKE) style-jazz

# The band style: MMA's jazz and swing grooves (corpus import mma), trained from scratch (the folk/chorale
# base has seen no drums, bass or comping: fine-tuned from it, the loss was 7.2 nats/token after 5 steps
# against 6.6 from scratch), 400 steps as a warm-up bundle in build/, then 900 more from it at 6e-4.
# ~45 minutes on the 2-core CPU.
JAZZ_BATCHES := --batch-size 8 --seq-len 512 --seed 0
style-jazz: setup
	$(PY) -m midigen corpus import mma corpora/mma-jazz --genres jazz,swing
	$(PY) -m midigen train --style jazz-warmup corpora/mma-jazz --from none --steps 400 --eval-every 100 $(JAZZ_BATCHES) --styles-dir build/styles
	MIDIGEN_STYLES=build/styles $(PY) -m midigen train --style jazz corpora/mma-jazz --from jazz-warmup --lr 6e-4 --steps 900 --eval-every 300 $(JAZZ_BATCHES) --styles-dir styles

clean-cache:
	rm -rf $${MIDIGEN_CACHE:-$$HOME/.cache/midigen}
