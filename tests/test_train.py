"""Training: the tiny model learns, bundles round-trip exactly, bad bundles are refused, resume works, a time
budget plans its steps to end on time, and Ctrl-C installs the best weights so far."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from midigen.errors import MidigenError
from midigen.model.transformer import MusicTransformer, config_for_size
from midigen.styles.bundle import load_bundle, write_bundle
from midigen.tokens.vocab import VOCAB
from midigen.training import budget
from midigen.training.train import TrainConfig, train_style

from .conftest import TINY_TRAINING


def test_loss_at_init_is_about_ln_vocab():
    torch.manual_seed(0)
    model = MusicTransformer(config_for_size("tiny", VOCAB.size, 128))
    x, y = torch.randint(0, VOCAB.size, (2, 4, 64))  # targets unrelated to inputs (tied weights favour x itself)
    _, loss = model(x, y)
    assert abs(loss.item() - math.log(VOCAB.size)) < 0.3


def test_tiny_style_bundle_records_what_it_was_made_of(tiny_style):
    styles, meta = tiny_style
    assert (styles / "tiny-bach" / "style.json").is_file()
    assert meta["training"]["steps_done"] == 24 and meta["training"]["size"] == "tiny"
    assert sum(meta["corpus"]["split"]["sizes"].values()) == 3
    assert meta["corpus"]["stats"]["keys"] and meta["corpus"]["stats"]["meters"]
    for side in ("valid", "test"):
        m = meta["metrics"][side]
        assert m["model"]["bits_per_note"] > 0 and m["ngram"]["bits_per_note"] > 0
        assert m["model_grammar_masked"]["bits_per_note"] <= m["model"]["bits_per_note"] + 1e-6
    assert not (styles / ".train-tiny-bach").exists()  # the work folder is gone after success


def test_tiny_training_learns(tiny_style):
    _, meta = tiny_style
    valid = meta["metrics"]["valid"]["model"]
    assert valid["nats_per_token"] < math.log(VOCAB.size) - 1.0  # far below the uniform guess


def test_bundle_round_trip_is_exact_with_tied_weights(tiny_style, tmp_path):
    styles, _ = tiny_style
    bundle = load_bundle(styles / "tiny-bach")
    assert bundle.model.lm_head.weight is bundle.model.tok_emb.weight
    copy = tmp_path / "copy"
    write_bundle(copy, {k: v for k, v in bundle.meta.items()}, bundle.model)
    again = load_bundle(copy)
    for (k, a), (_, b) in zip(bundle.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert again.weights_sha256 == bundle.weights_sha256


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "extra.pkl").write_bytes(b"\x80\x04."), "unexpected file 'extra.pkl'"),
    (lambda d: _edit_meta(d, format=99), "bundle format 99"),
    (lambda d: _edit_meta(d, tokenizer={"format": 1, "size": 7, "names_sha1": "x"}), "another token vocabulary"),
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:-8] + b"12345678"), "SHA-256"),
    (lambda d: _edit_meta(d, model={**json.loads((d / "style.json").read_text())["model"], "n_embd": 64, "n_head": 2}),
     "does not match model.safetensors"),
])
def test_damaged_bundles_are_refused(tiny_style, tmp_path, damage, message):
    styles, _ = tiny_style
    folder = tmp_path / "b"
    shutil.copytree(styles / "tiny-bach", folder)
    damage(folder)
    with pytest.raises(MidigenError, match=message):
        load_bundle(folder)


def _edit_meta(folder, **changes):
    meta = json.loads((folder / "style.json").read_text())
    meta.update(changes)
    (folder / "style.json").write_text(json.dumps(meta))


@pytest.mark.slow
def test_interrupt_then_resume_continues_the_step_count(real_midi_dir, tmp_path):
    config = TrainConfig(**{**TINY_TRAINING, "steps": 16, "eval_every": 4, "checkpoint_every": 4})
    seen = []

    def stop_at_6(p):
        seen.append(p.step)
        if p.step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="after step 6"):
        train_style("resumable", real_midi_dir, config, styles_dir=tmp_path, progress=stop_at_6)
    assert load_bundle(tmp_path / "resumable").meta["training"]["interrupted"]  # installed, and resumable
    state = json.loads((tmp_path / ".train-resumable" / "state.json").read_text())
    assert state["step"] == 6
    seen.clear()
    meta = train_style("resumable", real_midi_dir, config, styles_dir=tmp_path, resume=True,
                       progress=lambda p: p.message or seen.append(p.step))
    assert seen[0] == 7 and meta["training"]["steps_done"] == 16
    assert "interrupted" not in meta["training"] and meta["metrics"]["test"]


@pytest.mark.parametrize("stop_at, kept", [(2, r"the weights of step 2 \(not validated yet\)"),
                                           (5, r"the best weights so far \(step 4, [\d.]+ validation bits/note\)")])
def test_ctrl_c_installs_the_best_weights_so_far_and_keeps_the_checkpoint(real_midi_dir, tmp_path, stop_at, kept):
    from safetensors.torch import load_file

    config = TrainConfig(**{**TINY_TRAINING, "steps": 12, "eval_every": 4, "checkpoint_every": 4})

    def interrupt(p):
        if p.step == stop_at and not p.message:
            raise KeyboardInterrupt  # what Ctrl-C raises wherever the loop is

    with pytest.raises(KeyboardInterrupt, match=rf"after step {stop_at}: style 'stopped' installed with {kept}, "
                                                r"not scored; checkpoint kept .*continue with --resume"):
        train_style("stopped", real_midi_dir, config, styles_dir=tmp_path, progress=interrupt)
    bundle = load_bundle(tmp_path / "stopped")  # a usable bundle: it loads, checked, and composes like any other
    training = bundle.meta["training"]
    assert training["interrupted"] and training["steps_done"] == stop_at and bundle.meta["metrics"]["scored"] is False
    work = tmp_path / ".train-stopped"
    assert json.loads((work / "state.json").read_text())["step"] == stop_at
    saved = load_file(str(work / ("best.safetensors" if stop_at > 4 else "checkpoint.safetensors")))
    for key, value in bundle.model.state_dict_for_save().items():
        assert torch.equal(value.half(), saved[key].half()), key  # the best weights (step 4), not the last (step 5)


def test_keep_last_installs_the_last_steps_weights_and_no_patience_trains_the_whole_schedule(real_midi_dir, tmp_path):
    settings = {**TINY_TRAINING, "steps": 12, "eval_every": 2, "checkpoint_every": 12, "patience": None, "lr": 3e-2}
    validations = []
    last = train_style("last", real_midi_dir, TrainConfig(**settings, keep="last"), styles_dir=tmp_path,
                       progress=lambda p: p.valid_bits_per_note is not None and validations.append(p.step))
    assert validations == [2, 4, 6, 8, 10, 12] and last["training"]["steps_done"] == 12 and last["training"]["keep"] == "last"
    best = train_style("best", real_midi_dir, TrainConfig(**settings), styles_dir=tmp_path)
    assert best["training"]["best_step"] == last["training"]["best_step"]  # the same run, seeded
    a, b = (load_bundle(tmp_path / n).model.state_dict_for_save() for n in ("last", "best"))
    same = all(torch.equal(a[k], b[k]) for k in a)
    assert best["training"]["best_step"] < 12 and not same  # 3e-2 overshoots: the last step is not the best one
    with pytest.raises(MidigenError, match="keep must be one of best, last"):
        TrainConfig(keep="first")


def test_resume_without_checkpoint_is_a_clear_error(real_midi_dir, tmp_path):
    with pytest.raises(MidigenError, match="nothing to resume"):
        train_style("never-ran", real_midi_dir, TrainConfig(**TINY_TRAINING), styles_dir=tmp_path, resume=True)


@pytest.mark.slow
def test_fine_tune_from_a_bundle(tiny_style, real_midi_dir, tmp_path):
    styles, _ = tiny_style
    config = TrainConfig(**{**TINY_TRAINING, "steps": 4, "eval_every": 4})
    meta = train_style("tuned", real_midi_dir, config, styles_dir=styles, from_style="tiny-bach")
    assert meta["training"]["from_style"] == "tiny-bach"
    shutil.rmtree(styles / "tuned")


def test_nothing_usable_is_a_clear_error(tmp_path):
    (tmp_path / "a.mid").write_bytes(b"junk")
    with pytest.raises(MidigenError, match="no usable pieces"):
        train_style("empty", tmp_path, TrainConfig(**TINY_TRAINING), styles_dir=tmp_path / "styles")


def test_bad_names_and_settings():
    with pytest.raises(MidigenError, match="invalid style name"):
        train_style("../escape", ".", TrainConfig(**TINY_TRAINING))
    with pytest.raises(MidigenError, match="size must be one of"):
        TrainConfig(size="huge")


@pytest.mark.slow
def test_two_process_gloo_training(real_midi_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIDIGEN_CACHE": str(tmp_path / "cache")}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517"]
    cmd = torchrun + ["-m", "midigen", "train", "--style", "ddp", str(real_midi_dir), "--size", "tiny", "--steps", "6",
                      "--batch-size", "2", "--seq-len", "128", "--eval-every", "3", "--device", "cpu",
                      "--styles-dir", str(tmp_path / "styles")]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "styles" / "ddp" / "style.json").read_text())
    assert meta["training"]["steps_done"] == 6
    assert np.isfinite(meta["metrics"]["valid"]["model"]["bits_per_note"])


@pytest.fixture(scope="module")
def two_corpora(real_midi_dir, tmp_path_factory):
    """Two folders (named like two collections) made of real chorales: enough for the multi-style machinery."""
    root = tmp_path_factory.mktemp("two")
    files = sorted(real_midi_dir.glob("*.mid"))
    for name, chosen in (("hymns", files), ("tunes", files)):
        (root / name).mkdir()
        for f in chosen:
            shutil.copy2(f, root / name / f.name)
    return root / "hymns", root / "tunes"


@pytest.mark.slow
def test_several_corpora_train_one_multi_style_bundle(two_corpora, tmp_path):
    config = TrainConfig(**{**TINY_TRAINING, "steps": 4, "eval_every": 4})
    meta = train_style("base", list(two_corpora), config, styles_dir=tmp_path, from_style="none")
    assert [(c["label"], c["slot"]) for c in meta["corpora"]] == [("hymns", 0), ("tunes", 1)]
    assert meta["training"]["style_slot"] is None and meta["corpus"]["pieces"] == 6
    pooled = meta["metrics"]["test"]["model"]
    parts = [c["metrics"]["test"]["model"] for c in meta["corpora"]]
    assert pooled["notes"] == sum(p["notes"] for p in parts)
    weighted = sum(p["bits_per_note"] * p["notes"] for p in parts) / pooled["notes"]
    assert pooled["bits_per_note"] == pytest.approx(weighted, rel=1e-3)


@pytest.mark.slow
def test_train_fine_tunes_base_by_default_and_reuses_its_style_slot(two_corpora, tmp_path):
    config = TrainConfig(**{**TINY_TRAINING, "steps": 4, "eval_every": 4})
    train_style("base", list(two_corpora), config, styles_dir=tmp_path, from_style="none")
    tuned = train_style("tunes-style", two_corpora[1], config, styles_dir=tmp_path)
    assert tuned["training"]["from_style"] == "base" and tuned["training"]["style_slot"] == 1
    assert tuned["training"]["lr"] == 3e-3  # an explicit rate is kept; the default one is gentler when fine-tuning
    other = tmp_path / "music" / "new-songs"
    shutil.copytree(two_corpora[1], other)
    fresh = train_style("new-songs", other, config, styles_dir=tmp_path)
    assert fresh["training"]["style_slot"] == 2  # a corpus the base never saw gets the first free slot
    scratch = train_style("scratch", other, config, styles_dir=tmp_path, from_style="none")
    assert scratch["training"]["from_style"] is None and scratch["training"]["style_slot"] is None


@pytest.mark.slow
def test_a_base_of_another_size_is_not_used_by_default(two_corpora, tmp_path):
    config = TrainConfig(**{**TINY_TRAINING, "steps": 4, "eval_every": 4})
    train_style("base", list(two_corpora), config, styles_dir=tmp_path, from_style="none")
    notes = []
    meta = train_style("bigger", two_corpora[1], TrainConfig(**{**TINY_TRAINING, "size": "small", "steps": 1, "eval_every": 1}),
                       styles_dir=tmp_path, progress=lambda p: notes.append(p.message))
    assert meta["training"]["from_style"] is None
    assert any(n and "training from scratch" in n for n in notes)


def test_default_rates_depend_on_fine_tuning():
    config = TrainConfig(steps=400)
    assert config.resolved(fine_tune=False).lr == 1e-3 and config.resolved(fine_tune=True).lr == 3e-4
    assert config.resolved(fine_tune=False).warmup_steps == 40
    assert TrainConfig(steps=5000).resolved(fine_tune=False).warmup_steps == 100
    budgeted = TrainConfig().resolved(fine_tune=False)
    assert budgeted.steps is None and budgeted.warmup_steps is None and budgeted.eval_every is None  # planned once timed
    assert budgeted.budget_minutes == 10 and TrainConfig(steps=5).budget_minutes is None
    assert TrainConfig(steps=5, minutes=2).budget_minutes == 2  # steps with a time limit


@pytest.mark.parametrize("settings, message", [
    *[({"minutes": m}, "minutes must be a number of minutes above 0") for m in (0, -1.5, float("nan"), float("inf"))],
    ({"steps": 0}, "steps must be at least 1"),
    ({"eval_every": 0, "checkpoint_every": 0}, "eval_every must be at least 1; checkpoint_every must be at least 1"),
])
def test_bad_budget_settings_are_one_error(settings, message):
    with pytest.raises(MidigenError, match=f"^bad training settings: {re.escape(message)}$"):
        TrainConfig(**settings)


@pytest.mark.parametrize("args, error", [(["--minutes", "0"], "bad training settings: minutes must be a number of minutes above 0"),
                                         (["--steps", "5", "--epochs", "1"], "give --steps or --epochs, not both")])
def test_the_cli_refuses_bad_budgets_in_one_line(real_midi_dir, tmp_path, args, error):
    from click.testing import CliRunner

    from midigen.cli import main

    result = CliRunner().invoke(main, ["train", "--style", "x", str(real_midi_dir), "--styles-dir", str(tmp_path), *args])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [f"Error: {error}"]
    assert not (tmp_path / "x").exists()


def _simulate(schedule, clock, step_s, validation_s=2.0) -> int:
    """Run ``schedule`` the way ``train``'s loop does, on a fake clock: (steps done)."""
    done = 0
    while not schedule.finished(done):
        clock[0] += step_s(done)
        done += 1
        late = schedule.stepped(done, step_s(done - 1), rank=0)
        if schedule.validates_at(done) or late:
            clock[0] += validation_s
            schedule.validated(done, validation_s, rank=0)
        if late:
            break
    return done


def _schedule(monkeypatch, config, said):
    clock = [0.0]
    monkeypatch.setattr(budget.time, "monotonic", lambda: clock[0])
    return clock, budget.Schedule(config.resolved(fine_tune=False), deadline_s=100.0, validation_s=2.0, world=1, device="cpu",
                                  say=said.append, plan_lines=lambda c, s: [f"plan: {c.steps} steps, {s} s a step"])


def test_a_budget_plans_its_schedule_to_end_at_the_deadline(monkeypatch):
    said, config = [], TrainConfig(size="tiny", minutes=1.0, lr=1e-3)
    clock, schedule = _schedule(monkeypatch, config, said)
    # a first step paying one-off costs, then steady steps, then a machine that gets busier: each validation re-plans
    done = _simulate(schedule, clock, lambda i: 3.0 if i == 0 else 0.5 if i < 60 else 0.7)
    assert said == [f"plan: {schedule.planned_steps} steps, 0.5 s a step"]  # planned once the first steps were timed
    assert schedule.planned_steps > done == schedule.config.steps and not schedule.stopped_by_budget
    assert schedule.config.eval_every == math.ceil((100 - 3 - 4 * 0.5) / 0.5 / budget.BUDGET_VALIDATIONS)
    assert 100 - 0.7 - 2 * 2.0 < clock[0] <= 100 + 2.0  # filled to the deadline, the last validation set aside
    assert schedule.config.lr_at(done - 1) == pytest.approx(config.lr * config.min_lr_ratio, rel=0.01)  # decay ends with the steps


def test_a_budget_run_that_falls_behind_stops_at_its_deadline(monkeypatch):
    clock, schedule = _schedule(monkeypatch, TrainConfig(size="tiny", minutes=1.0, lr=1e-3, eval_every=1000), [])
    done = _simulate(schedule, clock, lambda i: 0.5 if i < 50 else 4.0)  # no validation before the end to re-plan
    assert schedule.stopped_by_budget and done < schedule.config.steps
    assert clock[0] <= 100 + 4.0 + 2.0  # at most a step late, then validated so the best weights are kept


def test_a_budget_scores_as_many_held_out_pieces_as_fit_its_shares():
    from types import SimpleNamespace

    from midigen.training.data import spread

    lengths = lambda side, limit: [1000] * len(spread(40, limit))  # noqa: E731 - 40 valid and 40 test pieces
    corpora = [SimpleNamespace(split=SimpleNamespace(valid=[0] * 40, test=[0] * 40), scored_lengths=lengths,
                               validation_lengths=lambda limit: lengths("valid", limit))]  # a corpus as the budget sees it
    assert budget.scoring_work([1000], 512) == 1512  # three half-overlapping windows: 1.5 s a piece at 1 ms a token
    assert budget.choose_score_pieces(corpora, 60, 1e-3, 512) == 1  # none fits a minute: one is scored anyway
    assert budget.choose_score_pieces(corpora, 600, 1e-3, 512) == 6  # 6 validations x 6 pieces x 1.5 s <= 60 s
    assert budget.BUDGET_VALIDATIONS * budget.scoring_s(corpora, 7, 1e-3, 512)[0] > budget.VALIDATION_SHARE * 600
    assert budget.choose_score_pieces(corpora, 10_000 * 60, 1e-3, 512) is None  # all of them


def test_a_budget_run_stops_within_its_budget(real_midi_dir, tmp_path):
    minutes = 0.15
    config = TrainConfig(**{**TINY_TRAINING, "steps": None, "minutes": minutes, "eval_every": None,
                            "checkpoint_every": None, "warmup_steps": None, "patience": 1000})
    said = []
    started = time.monotonic()
    meta = train_style("timed", real_midi_dir, config, styles_dir=tmp_path, from_style="none",
                       progress=lambda p: p.message and said.append(p.message))
    elapsed = time.monotonic() - started
    assert elapsed < minutes * 60 + 60  # the goal, generous here: start-up alone may take seconds on a loaded machine
    training = meta["training"]
    assert training["minutes"] == minutes and training["budget"]["planned_steps"] >= 1
    assert training["steps_done"] == training["steps"] or training["budget"]["stopped_by_budget"]
    assert training["score_pieces"] is None or training["score_pieces"] >= 1
    assert said[0].startswith("data: 3 pieces (train 1, valid 1, test 1)") and "budget: 0.15 min" in said[0]
    assert [m.split(":")[0] for m in said[1:4]] == ["held-out", "plan", "expected quality"]
    assert load_bundle(tmp_path / "timed").meta["metrics"]["test"]


def test_corpus_balance_draws_small_corpora_more_than_their_size(two_corpora):
    from midigen.training.data import load_corpora, piece_weights

    corpora = load_corpora(list(two_corpora), 0, [0, 1])
    weights = piece_weights(corpora)
    n_first = len(corpora[0].split.train)
    tokens = np.array([c.train_tokens() for c in corpora], dtype=float)
    shares = np.array([weights[:n_first].sum(), weights[n_first:].sum()])
    assert weights.sum() == pytest.approx(1.0)
    assert shares == pytest.approx(np.sqrt(tokens) / np.sqrt(tokens).sum())


def test_the_same_corpus_twice_is_refused(two_corpora, tmp_path):
    with pytest.raises(MidigenError, match="twice"):
        train_style("dup", [two_corpora[0], two_corpora[0]], TrainConfig(**TINY_TRAINING), styles_dir=tmp_path)


def test_training_never_replaces_a_folder_that_is_not_a_bundle(real_midi_dir, tmp_path):
    music = tmp_path / "songs"
    shutil.copytree(real_midi_dir, music)
    with pytest.raises(MidigenError, match="not a style bundle"):
        train_style("songs", music, TrainConfig(**TINY_TRAINING), styles_dir=tmp_path)  # bundle path == the corpus
    assert sorted(p.name for p in music.iterdir()) == sorted(p.name for p in real_midi_dir.iterdir())


@pytest.mark.parametrize("change", [{"n_embd": 1 << 16, "n_head": 1 << 10}, {"n_layer": 3}, {"max_seq_len": 1 << 30}])
def test_a_style_json_that_lies_about_the_model_is_refused_before_building_it(tiny_style, tmp_path, change):
    styles, _ = tiny_style
    copy = tmp_path / "liar"
    shutil.copytree(styles / "tiny-bach", copy)
    meta = json.loads((copy / "style.json").read_text())
    meta["model"].update(change)  # a 65536-wide model would need ~10^11 bytes if it were allocated
    (copy / "style.json").write_text(json.dumps(meta))
    with pytest.raises(MidigenError, match="does not match|context"):
        load_bundle(copy)


@pytest.mark.slow
def test_a_bundle_of_an_older_vocabulary_is_refused_for_composing_and_grown_for_fine_tuning(tiny_style, real_midi_dir, tmp_path):
    """A format-1 bundle (the ids before Chord, Hole and Fill were appended) is fine-tuned forward."""
    styles, meta = tiny_style
    old_size = VOCAB.offsets["Chord"]
    old = MusicTransformer(config_for_size("tiny", old_size, 128))
    folder = tmp_path / "styles" / "old-style"
    write_bundle(folder, {k: v for k, v in meta.items() if k != "tokenizer"}, old)
    _edit_meta(folder, tokenizer={"format": 1, "size": old_size, "names_sha1": VOCAB._names_digest(old_size)})
    with pytest.raises(MidigenError, match="older token vocabulary .*midigen train --from old-style"):
        load_bundle(folder)
    config = TrainConfig(**{**TINY_TRAINING, "steps": 2, "eval_every": 2})
    grown = train_style("grown", real_midi_dir, config, styles_dir=tmp_path / "styles", from_style="old-style")
    assert grown["tokenizer"] == VOCAB.to_json() and grown["model"]["vocab_size"] == VOCAB.size
    assert load_bundle(tmp_path / "styles" / "grown").model.tok_emb.weight.shape[0] == VOCAB.size


def test_growing_the_vocabulary_keeps_what_the_model_says_about_old_ids():
    torch.manual_seed(0)
    model = MusicTransformer(config_for_size("tiny", 100, 32)).eval()
    grown = model.grow_vocab(130).eval()
    ids = torch.randint(0, 100, (2, 16))
    with torch.no_grad():
        assert torch.allclose(model(ids)[0], grown(ids)[0][..., :100], atol=1e-6)
    assert grown.lm_head.weight is grown.tok_emb.weight
    with pytest.raises(ValueError, match="cannot shrink"):
        grown.grow_vocab(50)
