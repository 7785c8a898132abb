"""Hostile and broken inputs: fuzzed MIDI, huge files, bad corpora, killed training runs, bad CLI inputs."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.fuzz import Case, read_all, run_fuzz
from bench.fuzz_inputs import header, huge_file, many_notes_file, track
from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi

ROOT = Path(__file__).resolve().parent.parent


def _one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


# ---- the MIDI reader under fuzzing ----------------------------------------------------------------

def test_short_fuzz_run_has_no_crashes(real_midi_dir, golden_dir, tmp_path):
    for f in [*real_midi_dir.glob("*.mid"), *golden_dir.glob("*.mid")]:
        shutil.copy(f, tmp_path / f.name)
    report = run_fuzz(300, seed=7, corpus=tmp_path, huge=False)
    assert report.tried == 300 and report.crashed == 0, report.crashes[:3]
    assert report.loaded > 0 and report.rejected > 0
    assert report.slowest_s < 5


def _evil_reader(path, data=None):
    """Stands in for read_midi in the pool's workers: misbehaves on request."""
    if data == b"segv":
        os.kill(os.getpid(), signal.SIGSEGV)  # no core file: the pool's workers set RLIMIT_CORE to 0
    if data == b"hang":
        time.sleep(60)
    if data == b"oops":
        raise ValueError("not a MidigenError")
    if data == b"unnamed":
        raise MidigenError("a message without the file name")
    if data == b"bad":
        raise MidigenError(f"{path}: bad file")


@pytest.mark.slow
def test_the_pool_counts_dead_and_hung_workers_as_crashes():
    cases = [Case(f"{tag}.mid", tag.encode(), "test") for tag in ("segv", "ok", "hang", "oops", "unnamed", "bad", "ok2")]
    results = {r.name: r for r in read_all(cases, timeout_s=2, reader="tests.test_robustness:_evil_reader")}
    outcome = {name: r.outcome for name, r in results.items()}
    assert outcome == {"segv.mid": "crashed", "ok.mid": "loaded", "hang.mid": "crashed", "oops.mid": "crashed",
                       "unnamed.mid": "crashed", "bad.mid": "rejected", "ok2.mid": "loaded"}
    assert "SIGSEGV" in results["segv.mid"].message and "timeout" in results["hang.mid"].message


@pytest.mark.parametrize("make, size_word", [(huge_file, "100 MB"), (many_notes_file, "57 MB")])
def test_huge_files_are_refused_quickly(make, size_word, tmp_path):
    data = make()
    path = tmp_path / "huge.mid"
    path.write_bytes(data)
    for kwargs in ({}, {"data": data}):
        start = time.perf_counter()
        with pytest.raises(MidigenError, match=rf"^{re.escape(str(path))}: file is {size_word} \(at most 16 MB\)$"):
            read_midi(path, **kwargs)
        assert time.perf_counter() - start < 2


def test_absurd_maps_and_meters_are_refused_with_a_reason():
    note = b"\x00\x90\x3c\x40\x01\x80\x3c\x00"
    tempos = header() + track(note + b"\x00\xff\x51\x03\x07\xa1\x20" * 30_000)
    start = time.perf_counter()
    with pytest.raises(MidigenError, match="30000 tempo and time-signature events"):
        read_midi("t.mid", data=tempos)
    assert time.perf_counter() - start < 2
    for numerator, power in ((3, 255), (1, 6), (0, 2)):  # 3/0 (2**255 wraps to 0), 1/64, 0/4
        meter = b"\x00\xff\x58\x04" + bytes([numerator, power, 24, 8])
        with pytest.raises(MidigenError, match=r"^m\.mid: unsupported time signature"):
            read_midi("m.mid", data=header() + track(note + meter + note))


# ---- bad corpora ----------------------------------------------------------------------------------

def _mixed_corpus(real_midi_dir: Path, golden_dir: Path, folder: Path) -> Path:
    """4 good files (small ones, so that validation is quick) and 2 bad ones: a third is garbage."""
    from midigen.midi.files import write_midi
    from midigen.music.piece import PITCH

    folder.mkdir()
    for f in golden_dir.glob("*.mid"):
        shutil.copy(f, folder / f.name)
    piece, _ = read_midi(golden_dir / "scale_in_c.mid")
    notes = piece.notes.copy()
    notes[:, PITCH] += 2
    write_midi(piece.replace(notes=notes), folder / "scale_in_d.mid")
    (folder / "garbage.mid").write_bytes(b"MThd" + os.urandom(500))
    (folder / "truncated.mid").write_bytes((real_midi_dir / "bach_bwv269.mid").read_bytes()[:200])
    return folder


@pytest.mark.slow
def test_training_skips_garbage_and_lists_it(real_midi_dir, golden_dir, tmp_path, monkeypatch):
    import midigen.training.train
    from midigen.training.train import TrainConfig, train_style
    from tests.conftest import TINY_TRAINING

    corpus = _mixed_corpus(real_midi_dir, golden_dir, tmp_path / "mixed")
    meta = train_style("mixed", corpus, TrainConfig(**TINY_TRAINING), styles_dir=tmp_path / "styles")
    assert meta["corpus"]["pieces"] == 4
    skipped = {Path(s["path"]).name: s["reason"] for s in meta["corpus"]["stats"]["skipped"]}
    assert set(skipped) == {"garbage.mid", "truncated.mid"} and all(skipped.values())

    monkeypatch.setattr(midigen.training.train, "train_style", lambda *args, **kwargs: meta)  # the CLI's report, not a 2nd run
    result = CliRunner().invoke(main, ["train", "--style", "mixed", str(corpus), "--size", "tiny"])
    assert result.exit_code == 0, result.output
    assert "skipped 2 files that could not be used:" in result.output
    assert re.search(rf"^  \S*garbage\.mid: {re.escape(skipped['garbage.mid'])}$", result.output, re.M)


def test_a_corpus_with_nothing_usable_is_one_clear_error(tmp_path):
    from midigen.training.train import TrainConfig, train_style
    from tests.conftest import TINY_TRAINING

    corpus = tmp_path / "junk"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"junk{i}.mid").write_bytes(os.urandom(100))
    with pytest.raises(MidigenError, match=r"no usable pieces \(3 files skipped"):
        train_style("junk", corpus, TrainConfig(**TINY_TRAINING), styles_dir=tmp_path / "styles")
    result = CliRunner().invoke(main, ["train", "--style", "junk", str(corpus), "--size", "tiny", "--steps", "2",
                                       "--styles-dir", str(tmp_path / "styles")])
    assert "no usable pieces" in _one_error_line(result)
    assert not (tmp_path / "styles" / "junk").exists()


# ---- killed training runs -------------------------------------------------------------------------

def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _train_command(corpus: Path, styles: Path, steps: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "midigen", "train", "--style", "s", str(corpus), "--size", "tiny", "--steps", str(steps),
            "--eval-every", "5", "--batch-size", "2", "--seq-len", "128", "--device", "cpu", "--styles-dir", str(styles),
            *extra]


@pytest.mark.slow
def test_kill_9_keeps_the_old_bundle_and_resume_continues(tiny_style, golden_dir, tmp_path):
    import json

    from midigen.styles.bundle import load_bundle

    styles = tmp_path / "styles"
    shutil.copytree(tiny_style[0] / "tiny-bach", styles / "s")
    before = _digests(styles / "s")
    env = {**os.environ, "MIDIGEN_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    state = styles / ".train-s" / "state.json"
    run = subprocess.Popen(_train_command(golden_dir, styles, 5000), env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while not state.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    stderr = run.communicate()[1].decode()
    assert run.returncode == -signal.SIGKILL, stderr
    assert _digests(styles / "s") == before
    load_bundle(styles / "s")
    assert sorted(p.name for p in styles.iterdir()) == [".train-s", "s"]

    step = json.loads(state.read_text())["step"]
    assert step >= 5 and step % 5 == 0
    resumed = subprocess.run(_train_command(golden_dir, styles, step + 10, "--resume"), env=env, capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    validated = [int(s) for s in re.findall(r"step (\d+): validation", resumed.stdout + resumed.stderr)]
    assert validated and validated[0] == step + 5  # not 5: it went on from the checkpoint (or stopped early)
    meta = load_bundle(styles / "s").meta
    assert meta["training"]["steps_done"] == validated[-1] and _digests(styles / "s") != before
    assert not (styles / ".train-s").exists()


def test_a_swap_killed_between_its_renames_is_finished_on_next_use(tiny_style, tmp_path):
    from midigen.styles.bundle import load_bundle
    from midigen.styles.registry import find_style, list_style_dirs

    styles = tmp_path / "styles"
    shutil.copytree(tiny_style[0] / "tiny-bach", styles / "s")
    before = _digests(styles / "s")
    os.replace(styles / "s", styles / ".s.old")  # bundle.install's first rename happened, its second did not
    shutil.copytree(tiny_style[0] / "tiny-bach", styles / ".s.new-abc123")  # the new bundle, never renamed
    assert find_style("s", styles) == styles / "s"
    assert _digests(styles / "s") == before and not (styles / ".s.old").exists()
    load_bundle(styles / "s")
    assert [p.name for p in list_style_dirs(styles) if p.parent == styles] == ["s"]


# ---- CLI inputs ---------------------------------------------------------------------------------

def test_existing_outputs_need_force(tiny_style, tmp_path):
    existing = tmp_path / "out.mid"
    existing.write_bytes(b"keep me")
    result = CliRunner().invoke(main, ["compose", "--style", "tiny-bach", "--bars", "2", "-o", str(existing),
                                       "--styles-dir", str(tiny_style[0])])
    assert "exists (use --force to overwrite)" in _one_error_line(result)
    result = CliRunner().invoke(main, ["styles", "export", "tiny-bach", str(existing), "--styles-dir", str(tiny_style[0])])
    assert "exists (use --force to overwrite)" in _one_error_line(result)
    assert existing.read_bytes() == b"keep me"


def test_unreadable_and_missing_inputs_are_one_line(tmp_path):
    folder = tmp_path / "folder.mid"
    folder.mkdir()
    assert "Is a directory" in _one_error_line(CliRunner().invoke(main, ["tokenize", str(folder)]))
    for args in (["tokenize", str(tmp_path / "missing.mid")], ["styles", "import", str(tmp_path / "missing.tar.gz")],
                 ["styles", "import", str(tmp_path)], ["train", "--style", "x", str(tmp_path / "missing")]):
        _one_error_line(CliRunner().invoke(main, args))


@pytest.mark.parametrize("args", [
    ["styles", "show", "../etc"], ["styles", "rm", "../../x", "--yes"], ["styles", "export", "../x", "x.tar.gz"],
    ["compose", "--style", "../x", "--bars", "2", "-o", "x.mid"], ["train", "--style", "../x", "."],
    ["styles", "import", "x.tar.gz", "--name", "../x"],
])
def test_style_names_cannot_be_paths(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.tar.gz").write_bytes(b"")
    assert "invalid style name" in _one_error_line(CliRunner().invoke(main, args))
