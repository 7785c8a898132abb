# midigen: every task a developer or CI runs. `make setup` makes .venv/ and installs the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch 2.13.0 (on this project's machines it lies on disk; elsewhere PyPI serves it).
TORCH_SPEC ?= torch==2.13.0
CORPORA := bach-chorales irish-oneills fiddle-ryans essen-german essen-chinese palestrina

.PHONY: setup test test-slow lint bench bench-quality bench-sketch fuzz demo corpora styles band-corpora band-base style-jazz style-latin \
	side-files own-folders bench-own-folders clean-cache

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
	$(MAKE) band-corpora

# Rebuild the shipped style bundles with the recipes that made them (styles/README.md has the timings; the
# corpora are read with today's reader, so the tokens can differ where it changed). First the folk/chorale
# base from five corpora (build/styles/folk-base, not shipped); then the band base (styles/base), that folk
# base continued on bach + irish (so it keeps them) and the five MMA genre groups; then every folk style
# fine-tuned from it: irish-folk 150 steps; bach-chorales, fiddle and german-folk 300 and chinese-folk 500
# (at 150 fiddle, chinese and german stayed 1.7-2.2 % above their folk-base fine-tunes' bits/note and bach lost
# 2.6 % of its eval overlap; at 300/500 every one is better: styles/README.md); then jazz and latin.
# Palestrina is not shipped (its encodings' licence reserves derivative formats); bench/finetune_bench.py
# uses it as the unseen style.
FOLK_CORPORA := bach-chorales irish-oneills fiddle-ryans essen-german essen-chinese
FOLK_BASE_TRAINING := --from none --size small --steps 1500 --batch-size 8 --seq-len 512 --eval-every 250 --seed 0 --styles-dir build/styles
FINE_TUNING := --steps 150 --batch-size 8 --seq-len 512 --eval-every 50 --seed 0 --styles-dir styles
FROM_BAND_BASE := irish-folk:irish-oneills
RETUNING := --batch-size 8 --seq-len 512 --eval-every 100 --seed 0 --styles-dir styles
RETUNED_FROM_BAND_BASE := bach-chorales:bach-chorales fiddle:fiddle-ryans german-folk:essen-german
styles: setup band-corpora
	for c in $(FOLK_CORPORA); do $(PY) -m midigen corpus import music21 $$c corpora/$$c || exit 1; done
	$(PY) -m midigen train --style folk-base $(addprefix corpora/,$(FOLK_CORPORA)) $(FOLK_BASE_TRAINING)
	$(MAKE) band-base
	for s in $(FROM_BAND_BASE); do $(PY) -m midigen train --style $${s%%:*} corpora/$${s#*:} --from base $(FINE_TUNING) || exit 1; done
	for s in $(RETUNED_FROM_BAND_BASE); do $(PY) -m midigen train --style $${s%%:*} corpora/$${s#*:} --from base --steps 300 $(RETUNING) || exit 1; done
	$(PY) -m midigen train --style chinese-folk corpora/essen-chinese --from base --steps 500 $(RETUNING)
	$(MAKE) style-jazz style-latin side-files

# The band corpora: every MMA genre rendered once (corpus import mma, with its split by chart), then five
# genre groups as folders of their own (corpus subset: hard links), one Style token each in the base.
MMA_GROUPS := mma-jazz-swing:jazz,swing mma-latin:latin mma-rock-pop:rock,pop,ballad,electronic,funk \
	mma-roots:blues,country,folk,gospel,reggae,trad-jazz mma-dance:march,waltz,show
band-corpora: setup
	$(PY) -m midigen corpus import mma corpora/mma
	for g in $(MMA_GROUPS); do $(PY) -m midigen corpus subset corpora/mma corpora/$${g%%:*} --genres $${g#*:} || exit 1; done

# The shipped base: the folk/chorale base (build/styles/folk-base) continued on bach + irish and the five MMA
# groups, 800 steps at 6e-4 (30 minutes on the 2-core CPU with its scoring). Corpora the folk base was
# trained on keep their Style slots; the others are passed on (inherited_slots).
BAND_CORPORA := bach-chorales irish-oneills mma-jazz-swing mma-latin mma-rock-pop mma-roots mma-dance
band-base: band-corpora
	MIDIGEN_STYLES=build/styles $(PY) -m midigen train --style base $(addprefix corpora/,$(BAND_CORPORA)) --from folk-base \
		--steps 800 --lr 6e-4 --batch-size 8 --seq-len 512 --eval-every 400 --score-pieces 24 --seed 0 --styles-dir styles

# The band styles, fine-tuned from the band base on their genre group. jazz: 300 steps, 8 minutes on the
# 2-core CPU. latin: 200 steps (build/styles; 5.79 bits/note, only -12 % against its n-gram), then 300 more
# from that bundle (4.71, -28 %), 7 + 10 minutes.
BAND_TUNING := --batch-size 8 --seq-len 512 --eval-every 100 --score-pieces 24
style-jazz: band-corpora
	$(PY) -m midigen train --style jazz corpora/mma-jazz-swing --from base --steps 300 $(BAND_TUNING) --seed 0 --styles-dir styles
style-latin: band-corpora
	$(PY) -m midigen train --style latin corpora/mma-latin --from base --steps 200 $(BAND_TUNING) --seed 0 --styles-dir build/styles
	MIDIGEN_STYLES=build/styles $(PY) -m midigen train --style latin corpora/mma-latin --from latin --steps 300 $(BAND_TUNING) --seed 1 --styles-dir styles

# The side files every shipped style with an imported corpus carries (--max-copy's copy index, --rank's style
# fit): rebuilt from the bundles as they are now, so a retrained style ships them again. A style whose corpus
# is not imported here is skipped and says so.
SIDE_FILE_STYLES := bach-chorales,irish-folk,fiddle,german-folk,chinese-folk,jazz,latin
side-files: setup
	$(PY) -m bench.maxcopy_bench --ship --styles $(SIDE_FILE_STYLES)
	$(PY) -m bench.rank_bench --ship --styles $(SIDE_FILE_STYLES)

# Band folders of one's own, for issue 17's measurement: music the base never heard (Freedoom's rock and metal,
# drums on channel 10; Debian: sudo apt-get install freedoom), each trained with the default command (10 minutes
# from base) into build/styles, then measured (bench-own-folders; the figures are in styles/README.md).
OWN_FOLDERS := freedoom1 freedoom2
own-folders: setup
	for f in $(OWN_FOLDERS); do $(PY) -m midigen corpus import wad /usr/share/games/doom/$$f.wad corpora/$$f || exit 1; done
	for f in $(OWN_FOLDERS); do $(PY) -m midigen train --style $$f corpora/$$f --styles-dir build/styles || exit 1; done
bench-own-folders: setup
	mkdir -p bench/results/own
	for f in $(OWN_FOLDERS); do \
		$(PY) -m midigen eval --style $$f --styles-dir build/styles --samples 100 --bars 16 --seed 0 --json > bench/results/own/eval-after-$$f.json && \
		$(PY) -m bench.band_bench --style $$f --styles-dir build/styles --takes 100 --bars 16 --side held-out \
			--json bench/results/own/band-after-$$f.json && \
		$(PY) -m bench.long_take_bench --style $$f --styles-dir build/styles --takes 24 --bars 32 --windows 0.75:1 --side held-out \
			--json bench/results/own/long-after-$$f.json || exit 1; done
	$(PY) -m bench.own_folders_table --labels after

clean-cache:
	rm -rf $${MIDIGEN_CACHE:-$$HOME/.cache/midigen}
