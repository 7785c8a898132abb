"""The sampler's window once the context is full: header, opening bars and the latest bars."""
from __future__ import annotations

import numpy as np
import pytest

from midigen.sampling.sampler import Window, _prefill_window
from midigen.tokens.vocab import VOCAB
from tests.test_parts import _FakeModel, _header

OFF = VOCAB.offsets
BAR = OFF["Bar"]
NOTE = [OFF["Position"], OFF["Pitch"] + 60, OFF["Velocity"], OFF["Duration"]]


def numbered_piece(bars: int, notes_per_bar: int = 2) -> list[int]:
    """Header, then ``bars`` bars whose notes carry the bar's number as their pitch (to tell bars apart)."""
    ids = _header()[:-1]
    for b in range(bars):
        ids += [BAR] + [OFF["Position"], OFF["Pitch"] + 40 + b, OFF["Velocity"], OFF["Duration"]] * notes_per_bar
    return ids


def bars_in(window: list[int]) -> list[int]:
    """The bar numbers a window holds, in order (read from the pitches)."""
    pitches = [t - OFF["Pitch"] - 40 for t in window if OFF["Pitch"] <= t < OFF["Pitch"] + 128]
    return list(dict.fromkeys(pitches))


@pytest.mark.parametrize("bad", [dict(keep_share=0.1), dict(keep_share=0.95), dict(opening_bars=9),
                                 dict(opening_share=0.6), dict(keep_share=0.3, opening_share=0.3)])
def test_window_limits_are_checked(bad):
    with pytest.raises(ValueError, match="bad sampling window"):
        Window(**bad)


@pytest.mark.parametrize("opening_bars", [1, 2])
def test_the_opening_bars_stay_after_the_header(opening_bars):
    ids = numbered_piece(30)  # 9 tokens a bar, 275 tokens: several windows of 64
    model = _FakeModel({}, max_seq_len=64)
    _prefill_window(model, [ids], [len(ids)], np.asarray, Window(keep_share=0.75, opening_bars=opening_bars, opening_share=0.4))
    (window,) = model.prefilled[-1]
    header = len(_header()) - 1
    assert window[:header] == ids[:header]
    held = bars_in(window)
    assert held[:opening_bars] == list(range(opening_bars))  # the opening, whole
    assert held[-1] == 29 and window[-9:] == ids[-9:]  # and the latest tokens
    assert held[opening_bars] > opening_bars  # with the bars between them left out
    assert len(window) <= 0.75 * 64
    assert window[header + 9 * opening_bars] == BAR  # the latest span starts at a bar line


def test_an_opening_longer_than_its_share_keeps_the_whole_bars_that_fit():
    ids = numbered_piece(30, notes_per_bar=4)  # 17 tokens a bar: only one bar fits in 0.4 * 64 = 25 tokens
    model = _FakeModel({}, max_seq_len=64)
    _prefill_window(model, [ids], [len(ids)], np.asarray, Window(keep_share=0.75, opening_bars=3, opening_share=0.4))
    held = bars_in(model.prefilled[-1][0])
    assert held[0] == 0 and held[1] > 1


def test_a_prompt_that_fits_is_kept_whole_and_rows_line_up():
    short, long_ = numbered_piece(2), numbered_piece(20)
    model = _FakeModel({}, max_seq_len=64)
    _prefill_window(model, [short], [len(short)], np.asarray, Window(opening_bars=2))
    assert model.prefilled[-1][0] == short
    _prefill_window(model, [long_, numbered_piece(25)], [len(long_), len(long_) + 30], np.asarray, Window(opening_bars=1))
    first, second = model.prefilled[-1]
    assert len(first) == len(second) and bars_in(first)[0] == bars_in(second)[0] == 0
