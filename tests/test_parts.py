"""Parts: named from the corpus's instrumentations, with ranges and density from its notes, drawn per take,
chosen with ``compose --parts``, shown by ``styles show``; and the sampler details the new commands rely on
(bar-aligned context windows, endings, kept bars)."""
from __future__ import annotations

from types import SimpleNamespace

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.corpus.dataset import PieceRecord
from midigen.corpus.part_stats import PartStats, notes_by_track
from midigen.corpus.stats import CorpusStats
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.grid import DRUM_PROGRAM
from midigen.music.piece import Piece, Track, quantize
from midigen.sampling.constraints import ConstrainedState, Constraints
from midigen.sampling.sampler import SamplingParams, Window, _prefill_window, sample_prompted
from midigen.styles.parts import (
    choose_parts,
    common_parts,
    corpus_instrumentations,
    describe_parts,
    part_names,
    style_parts,
    take_parts,
    usual_places,
)
from midigen.tasks.compose import ComposeRequest, compose, request_from_strings, write_takes
from midigen.tokens.tokenizer import encode
from midigen.tokens.vocab import VOCAB

OFF = VOCAB.offsets


@pytest.mark.parametrize("programs, names", [
    ([0, 0, 0, 0], ["soprano", "alto", "tenor", "bass"]),
    ([52, 52, 52, 52], ["soprano", "alto", "tenor", "bass"]),  # a choir
    ([52], ["melody"]),
    ([0, 33, DRUM_PROGRAM], ["piano", "bass", "drums"]),
    ([DRUM_PROGRAM, 26, 33, 27], ["drums", "guitar", "bass", "guitar-2"]),
    ([26, 26, 26, 26], ["guitar", "guitar-2", "guitar-3", "guitar-4"]),  # comping guitars are no choir
    ([0, 0, 33], ["piano", "piano-2", "bass"]),
    ([81, 81, 81, 81, 81], ["lead", "lead-2", "lead-3", "lead-4", "lead-5"]),
    ([48, 56, 65, 89], ["strings", "brass", "sax", "pad"]),
])
def test_parts_are_named_from_the_instrumentation(programs, names):
    assert part_names(programs) == names


def test_style_parts_and_choosing_them():
    """Older statistics (no per-part figures): every part the corpus has, the style's whole range for each."""
    meta = {"corpus": {"stats": {"instrumentations": {"0,33,drums": 5, "0,0,33,drums": 2}, "pitch_min": 30, "pitch_max": 90}}}
    parts = style_parts(meta)
    assert [(p.name, p.program, p.pitch_low, p.pitch_high, p.pieces, p.notes_per_bar) for p in parts] == [
        ("piano", 0, 30, 90, 7, None), ("piano-2", 0, 30, 90, 2, None), ("bass", 33, 30, 90, 7, None),
        ("drums", DRUM_PROGRAM, 30, 90, 7, None)]
    assert [p.name for p in choose_parts(parts, ("drums", "piano"), "band")] == ["piano", "drums"]  # the style's order
    assert parts[3].track().is_drum and parts[2].track(program=5).program == 5 and parts[1].title == "Piano 2"
    with pytest.raises(MidigenError, match=r"style band has no part 'lead' \(its parts: piano, piano-2, bass, drums\)"):
        choose_parts(parts, ("lead",), "band")
    with pytest.raises(MidigenError, match="names a part twice"):
        choose_parts(parts, ("bass", "bass"), "band")


def _piece(notes, programs, bars=2):
    """A 4/4 piece of ``bars`` bars: notes (start step, duration steps, pitch, track); program 128 is drums."""
    tracks = tuple(Track(0, True) if p == DRUM_PROGRAM else Track(p) for p in programs)
    return quantize(Piece(np.asarray([(s, d, p, 80, t) for s, d, p, t in notes], dtype=np.int64), tracks=tracks, key=0,
                          n_bars=bars))


def _record(programs, bars=2):
    return PieceRecord(path="x.mid", sha1="0", offset=0, length=0, melody_offset=0, melody_length=0, n_notes=0, n_in=0,
                       n_bars=bars, key=0, meter="4/4", tempo_bpm=120.0, programs=tuple(programs), quarters=8.0,
                       pitch_low=0, pitch_high=0)


def test_notes_are_counted_on_their_part_across_bar_lines():
    """The encoder names a track only when it changes: the bass's first note of bar 2 carries no Track token."""
    piece = _piece([(0, 24, 72, 0), (24, 24, 40, 1), (48, 12, 43, 1), (60, 12, 74, 0), (72, 12, 36, 2)],
                   [0, 33, DRUM_PROGRAM])
    ids = encode(piece)
    assert np.count_nonzero((ids >= VOCAB.span("Track").start) & (ids < VOCAB.span("Track").stop)) == 3
    tracks, pitches = notes_by_track(ids)
    assert sorted(zip(tracks.tolist(), pitches.tolist())) == [(0, 72), (0, 74), (1, 40), (1, 43), (2, 36)]


def test_part_ranges_are_robust_and_density_is_per_bar():
    """300 upper-voice notes in 62-79 and one stray 30: the range is the notes' 0.5-99.5 percentiles, not 30."""
    stats = PartStats()
    for _ in range(3):
        upper = [(12 * i, 12, 62 + i % 18, 0) for i in range(100)]
        lower = [(24 * i, 24, 40 + i % 5, 1) for i in range(50)]
        stats.add((0, 0), 25, encode(_piece(upper + lower, [0, 0], bars=25)))
    stats.add((0, 0), 1, encode(_piece([(0, 12, 30, 0), (0, 12, 28, 1)], [0, 0], bars=1)))
    figures = stats.to_json()
    assert figures["upper"] == {"pieces": 4, "notes_per_bar": round(301 / 76, 3), "pitch_low": 62, "pitch_high": 79}
    assert figures["lower"] == {"pieces": 4, "notes_per_bar": round(151 / 76, 3), "pitch_low": 28, "pitch_high": 44}


def test_corpus_statistics_carry_parts_only_when_counted_from_the_notes():
    piece = _piece([(0, 24, 60, 0), (0, 24, 40, 1), (48, 12, 38, 2)], [0, 33, DRUM_PROGRAM])
    with_parts = CorpusStats.of([_record([0, 33, DRUM_PROGRAM])], (), [encode(piece)]).to_json()
    assert with_parts["parts"] == {"bass": {"pieces": 1, "notes_per_bar": 0.5, "pitch_low": 40, "pitch_high": 40},
                                   "drums": {"pieces": 1, "notes_per_bar": 0.5, "pitch_low": 38, "pitch_high": 38},
                                   "piano": {"pieces": 1, "notes_per_bar": 0.5, "pitch_low": 60, "pitch_high": 60}}
    assert "parts" not in CorpusStats.of([_record([0, 33, DRUM_PROGRAM])]).to_json()  # as older bundles have them
    meta = {"corpus": {"stats": with_parts | {"pitch_min": 30, "pitch_max": 90}}}
    assert [(p.name, p.pitch_low, p.pitch_high, p.notes_per_bar) for p in style_parts(meta)] == [
        ("piano", 60, 60, 0.5), ("bass", 40, 40, 0.5), ("drums", 38, 38, 0.5)]
    assert "bass (program 33, pitches 40-40, 0.5 notes a bar, 1 of 1 pieces)" in describe_parts(style_parts(meta), 1)


def test_voices_take_their_ranges_from_the_corpus_not_a_chorale_table():
    old = {"corpus": {"stats": {"instrumentations": {"0,0,0,0": 9}, "pitch_min": 36, "pitch_max": 81}}}
    assert {(p.pitch_low, p.pitch_high) for p in style_parts(old)} == {(36, 81)}  # older bundles: the whole range
    new = {"corpus": {"stats": old["corpus"]["stats"] | {"parts": {"soprano": {"pitch_low": 62, "pitch_high": 79},
                                                                   "bass": {"pitch_low": 38, "pitch_high": 62}}}}}
    ranges = {p.name: (p.pitch_low, p.pitch_high) for p in common_parts(new)}
    assert ranges == {"soprano": (62, 79), "alto": (36, 81), "tenor": (36, 81), "bass": (38, 62)}


BAND = {"corpus": {"stats": {"instrumentations": {"drums,0,33": 30, "drums,26,0,33": 10, "0,0": 2,
                                                  ",".join(["0"] * 17): 50, "drums,x": 9},
                             "pitch_min": 28, "pitch_max": 96}}}


def test_instrumentations_the_tokenizer_cannot_say_are_left_out():
    assert corpus_instrumentations(BAND) == [((DRUM_PROGRAM, 0, 33), 30), ((DRUM_PROGRAM, 26, 0, 33), 10), ((0, 0), 2)]
    assert [p.name for p in style_parts(BAND)] == ["drums", "upper", "guitar", "piano", "bass", "lower"]


def test_a_take_s_instrumentation_is_drawn_in_the_corpus_s_proportions():
    names = [tuple(p.name for p in take_parts(BAND, seed)) for seed in range(600)]
    shares = {n: names.count(n) / len(names) for n in set(names)}
    assert set(shares) == {("drums", "piano", "bass"), ("drums", "guitar", "piano", "bass"), ("upper", "lower")}
    assert abs(shares[("drums", "piano", "bass")] - 30 / 42) < 0.06 and abs(shares[("upper", "lower")] - 2 / 42) < 0.03
    assert take_parts(BAND, 7) == take_parts(BAND, 7)  # seeded
    assert all(len(take_parts(BAND, s, greedy=True)) == 3 for s in range(20))  # greedy: the commonest
    drawn = take_parts(BAND, 3, names=("guitar",))
    assert [(p.name, p.program) for p in drawn] == [("drums", DRUM_PROGRAM), ("guitar", 26), ("piano", 0), ("bass", 33)]
    # of the instrumentations with a piano, the smallest: the parts asked for carry the texture
    assert {tuple(p.name for p in take_parts(BAND, s, names=("piano",))) for s in range(40)} == {("drums", "piano", "bass")}
    # no instrumentation has a guitar and an upper voice: exactly those parts, in the style's order
    assert [p.name for p in take_parts(BAND, 3, names=("guitar", "upper"))] == ["upper", "guitar"]


def test_usual_places_put_a_band_s_tracks_in_the_style_s_order():
    parts = style_parts({"corpus": {"stats": {"instrumentations": {"drums,26,27,33": 4}}}})
    assert [p.name for p in parts] == ["drums", "guitar", "guitar-2", "bass"]
    assert usual_places(parts, [33, 24, DRUM_PROGRAM, 0]) == [3.0, 1.0, 0.0, 1.5]


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
    assert shown.exit_code == 0 and "parts (compose --parts): soprano (program 0, pitches " in shown.output
    assert "instrumentations (compose draws one a take): soprano+alto+tenor+bass (3)" in shown.output


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
    _prefill_window(model, [ids], [len(ids)], np.asarray, Window(keep_share=0.5, opening_bars=0))
    (window,) = model.prefilled[-1]
    header = len(_header()) - 1
    assert window[:header] == ids[:header] and window[header] == bar
    assert window == ids[:header] + ids[len(ids) - (len(window) - header):]
    assert 20 <= len(window) <= 32 and np.count_nonzero(np.asarray(window) == bar) >= 2


def test_restat_adds_the_per_part_figures_and_keeps_the_rest_of_the_bundle(tiny_style, real_midi_dir, tmp_path, capsys):
    import shutil

    from bench.restat import main as restat
    from midigen.fsutil import atomic_write_json
    from midigen.styles.bundle import read_meta

    styles, _ = tiny_style
    bundle = tmp_path / "styles" / "tiny-bach"
    shutil.copytree(styles / "tiny-bach", bundle)
    before = read_meta(bundle)
    del before["corpus"]["stats"]["parts"]  # as a bundle trained before per-part figures were counted
    atomic_write_json(bundle / "style.json", before)
    assert restat([str(bundle), str(real_midi_dir)]) == 0
    after = read_meta(bundle)
    figures = after["corpus"]["stats"].pop("parts")
    assert set(figures) == {"soprano", "alto", "tenor", "bass"} and all(f["pieces"] == 3 for f in figures.values())
    bass, soprano = figures["bass"], figures["soprano"]
    assert bass["pitch_low"] < soprano["pitch_low"] and bass["pitch_high"] < soprano["pitch_high"]  # each voice its own range
    for meta in (before, after):
        meta["corpus"]["stats"].setdefault("read_with_changes", [])
    assert after == before  # nothing else changed
    shown = CliRunner().invoke(main, ["styles", "show", "tiny-bach", "--styles-dir", str(tmp_path / "styles")])
    low, high = figures["soprano"]["pitch_low"], figures["soprano"]["pitch_high"]
    assert f"soprano (program 0, pitches {low}-{high}, " in shown.output
    assert restat([str(bundle), str(real_midi_dir), str(real_midi_dir)]) == 2 and "needs one corpus folder" in capsys.readouterr().err


def test_a_trained_bundle_records_each_parts_range_from_its_corpus(tiny_style):
    _, meta = tiny_style
    figures = meta["corpus"]["stats"]["parts"]
    assert set(figures) == {"soprano", "alto", "tenor", "bass"}
    assert figures["soprano"]["pitch_low"] > figures["bass"]["pitch_low"]
    assert figures["soprano"]["pitch_high"] > figures["bass"]["pitch_high"]
    assert all(f["pieces"] == 3 and f["notes_per_bar"] > 0 for f in figures.values())
