"""Parts: named from the corpus's instrumentation, chosen with ``compose --parts``, shown by ``styles show``;
and the sampler details the new commands rely on (bar-aligned context windows, endings, kept bars)."""
from __future__ import annotations

from types import SimpleNamespace

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.grid import DRUM_PROGRAM
from midigen.sampling.constraints import ConstrainedState, Constraints
from midigen.sampling.sampler import SamplingParams, _prefill_window, sample_prompted
from midigen.styles.parts import choose_parts, part_names, style_parts
from midigen.tasks.compose import ComposeRequest, compose, request_from_strings, write_takes
from midigen.tokens.vocab import VOCAB

OFF = VOCAB.offsets


@pytest.mark.parametrize("programs, names", [
    ([0, 0, 0, 0], ["soprano", "alto", "tenor", "bass"]),
    ([52], ["melody"]),
    ([0, 33, DRUM_PROGRAM], ["piano", "bass", "drums"]),
    ([0, 0, 33], ["piano-1", "piano-2", "bass"]),
    ([81, 81, 81, 81, 81], ["synth-lead-1", "synth-lead-2", "synth-lead-3", "synth-lead-4", "synth-lead-5"]),
])
def test_parts_are_named_from_the_instrumentation(programs, names):
    assert part_names(programs) == names


def test_style_parts_and_choosing_them():
    meta = {"corpus": {"stats": {"instrumentations": {"0,33,drums": 5, "0": 2}, "pitch_min": 30, "pitch_max": 90}}}
    parts = style_parts(meta)
    assert [(p.name, p.program, p.pitch_low, p.pitch_high) for p in parts] == [
        ("piano", 0, 30, 90), ("bass", 33, 30, 90), ("drums", DRUM_PROGRAM, 30, 90)]
    assert [p.name for p in choose_parts(parts, ("drums", "piano"), "band")] == ["piano", "drums"]  # the style's order
    assert parts[2].track().is_drum and parts[1].track(program=5).program == 5 and parts[1].title == "Bass"
    with pytest.raises(MidigenError, match=r"style band has no part 'lead' \(its parts: piano, bass, drums\)"):
        choose_parts(parts, ("lead",), "band")
    with pytest.raises(MidigenError, match="names a part twice"):
        choose_parts(parts, ("bass", "bass"), "band")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_compose_parts_writes_only_those_named_parts_with_exact_bars(bundle, tmp_path, seed):
    request = request_from_strings(3, parts="soprano, bass", seed=seed, temperature=1.3)
    (path,) = write_takes(compose(bundle, request), tmp_path / "sb.mid")
    midi = mido.MidiFile(str(path))
    assert [next(m.name for m in t if m.type == "track_name") for t in midi.tracks[1:]] == ["Soprano", "Bass"]
    back, _ = read_midi(path)
    assert back.n_bars == 3 and 1 <= len(back.tracks) <= 2  # the last bar sounds on a part the file keeps
    assert '"parts":["soprano","bass"]' in next(m.text for m in midi.tracks[0] if m.type == "text")


def test_all_parts_are_named_without_parts(bundle, tmp_path):
    (path,) = write_takes(compose(bundle, ComposeRequest(bars=2, seed=1)), tmp_path / "all.mid")
    names = [next(m.name for m in t if m.type == "track_name") for t in mido.MidiFile(str(path)).tracks[1:]]
    assert names == ["Soprano", "Alto", "Tenor", "Bass"]


def test_cli_unknown_part_lists_the_choices_and_styles_show_names_them(tiny_style, tmp_path):
    styles, _ = tiny_style
    result = CliRunner().invoke(main, ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2",
                                       "--parts", "lead,bass", "-o", str(tmp_path / "x.mid")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "no part 'lead' (its parts: soprano, alto, tenor, bass)" in result.output
    shown = CliRunner().invoke(main, ["styles", "show", "tiny-bach", "--styles-dir", str(styles)])
    assert shown.exit_code == 0 and "parts (compose --parts): soprano (program 0, pitches 57-81)" in shown.output


class _FakeModel:
    """Fixed logits whatever the input: ``prefers`` maps ids to scores, every other id scores 0."""

    takes_numpy = True  # sampled like ``npmodel.NumpyModel``: numpy ids in, numpy logits out

    def __init__(self, prefers: dict[int, float], max_seq_len: int = 64):
        self.cfg = SimpleNamespace(max_seq_len=max_seq_len)
        self.logits = np.zeros(VOCAB.size, dtype=np.float32)
        for token, score in prefers.items():
            self.logits[token] = score
        self.prefilled = []

    def new_cache(self, rows):
        return SimpleNamespace(length=0, max_len=self.cfg.max_seq_len)

    def prefill(self, idx, cache):
        self.prefilled.append(idx.tolist())
        cache.length = idx.shape[1]
        return np.tile(self.logits, (idx.shape[0], 1))

    def decode_step(self, idx, cache):
        cache.length += 1
        return np.tile(self.logits, (idx.shape[0], 1))


def _header():
    return [OFF["BOS"], OFF["Key"], VOCAB.ids_by_name["TimeSig_4/4"], VOCAB.ids_by_name["Tempo_120"], OFF["Program"], OFF["Bar"]]


def test_in_the_last_bar_the_piece_ends_where_the_model_would_start_a_bar():
    quarter = VOCAB.ids_by_name["Duration_12"]
    model = _FakeModel({OFF["Bar"]: 10, OFF["Position"]: 5, OFF["Pitch"] + 60: 4, OFF["Velocity"] + 10: 3, quarter: 3,
                        OFF["EOS"]: -10})
    constraints = Constraints(bars=2, meter=(4, 4))
    (ids,) = sample_prompted(model, _header(), lambda: ConstrainedState(constraints), 1, SamplingParams(temperature=0))
    body = [VOCAB.names[t] for t in ids[len(_header()):]]
    assert body == ["Bar", "Position_0", "Pitch_60", "Velocity_87", "Duration_12", "EOS"]


def test_kept_bars_move_the_end_of_the_piece():
    c = Constraints(bars=5, meter=(3, 4), kept_bars=2, kept_steps=2 * 48)  # two bars of 4/4 kept, three of 3/4 to come
    assert c.end_steps == 96 + 3 * 36
    with pytest.raises(MidigenError, match="cannot follow the 5 bars kept"):
        Constraints(bars=5, meter=(4, 4), kept_bars=5).check()
    with pytest.raises(MidigenError, match="track 2 may play 36-64"):
        Constraints(bars=1, meter=(4, 4), pitch_low=70, track_ranges=((0, 127), (36, 64))).check()


def test_a_long_prompt_is_seen_from_a_bar_line_with_its_header():
    bar, note = OFF["Bar"], [OFF["Position"], OFF["Pitch"] + 60, OFF["Velocity"], OFF["Duration"]]
    ids = _header() + (note * 2 + [bar]) * 10  # 9 tokens a bar: the last 27 tokens start mid-bar
    model = _FakeModel({}, max_seq_len=64)
    _prefill_window(model, [ids], [len(ids)], np.asarray)
    (window,) = model.prefilled[-1]
    header = len(_header()) - 1
    assert window[:header] == ids[:header] and window[header] == bar
    assert window == ids[:header] + ids[len(ids) - (len(window) - header):]
    assert 20 <= len(window) <= 32 and np.count_nonzero(np.asarray(window) == bar) >= 2
