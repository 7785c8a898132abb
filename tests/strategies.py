"""Hypothesis strategies for random pieces (any values, before quantization)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from midigen.music.chord_symbols import N_CHORDS
from midigen.music.grid import METERS
from midigen.music.piece import Piece, Track


@st.composite
def tracks(draw):
    n = draw(st.integers(1, 4))
    return tuple(Track(draw(st.integers(0, 127)), draw(st.booleans()) if i else False) for i in range(n))


@st.composite
def pieces(draw, max_notes: int = 60, with_header_extras: bool = True):
    track_list = draw(tracks())
    n_notes = draw(st.integers(1, max_notes))
    rows = draw(st.lists(
        st.tuples(st.integers(0, 600), st.integers(0, 300), st.integers(0, 127), st.integers(1, 127),
                  st.integers(0, len(track_list) - 1)),
        min_size=n_notes, max_size=n_notes))
    meters = [(0, *draw(st.sampled_from(METERS)))]
    if with_header_extras:
        for bar in sorted(draw(st.sets(st.integers(1, 12), max_size=3))):
            meters.append((bar, *draw(st.sampled_from(METERS))))
        tempos = [(0, draw(st.floats(20, 320)))] + [
            (s, draw(st.floats(15, 400))) for s in sorted(draw(st.sets(st.integers(1, 700), max_size=3)))]
    else:
        tempos = [(0, draw(st.floats(20, 320)))]
    return Piece(
        notes=np.asarray(rows, dtype=np.int64),
        tracks=track_list,
        meters=tuple(meters),
        tempos=tuple(tempos),
        key=draw(st.none() | st.integers(0, 23)),
        n_bars=draw(st.integers(1, 4)),
        style=draw(st.none() | st.integers(0, 31)) if with_header_extras else None,
        chords=tuple(draw(st.lists(st.tuples(st.integers(0, 700), st.integers(0, N_CHORDS - 1)), max_size=5))),
    )
