"""A music21 score as MIDI bytes with bar lines on the grid: a pickup padded to a full bar, meter
changes kept, repeats expanded where that keeps the bar grid (music21's MIDI export does neither by itself)."""
from __future__ import annotations

import io


def pickup_padding_quarters(score) -> float:
    """Quarters of rest that complete a pickup (anacrusis) first bar, 0 if the first bar is full.

    music21 writes a pickup at time 0 (it ignores ``Measure.paddingLeft``), so every later bar line
    would sit off the grid; shifting the music right by (bar length - pickup length) fixes that.
    """
    from music21 import meter

    part = score.parts[0] if score.parts else score
    measures = list(part.getElementsByClass("Measure"))
    if len(measures) < 2:
        return 0.0
    signatures = list(measures[0].getElementsByClass(meter.TimeSignature)) or list(
        score.recurse().getElementsByClass(meter.TimeSignature))
    if not signatures:
        return 0.0
    bar_q = float(signatures[0].barDuration.quarterLength)
    second_bar_q = float(measures[1].offset)
    if 0 < second_bar_q < bar_q:
        return bar_q - second_bar_q
    return 0.0


def copy_repeated_time_signatures(score) -> None:
    """music21's ABC reader reuses one TimeSignature object wherever a meter returns (M:4/2 .. M:4/4 ..
    M:4/2), and its own MIDI writer then refuses it ("already found in this Stream"): give every later
    bar its own copy (and drop a second placement inside one bar) so that the meter changes survive."""
    import copy

    from music21 import meter

    seen: set[int] = set()
    for measure in score.recurse().getElementsByClass("Measure"):
        here: set[int] = set()
        for element in list(measure.getElementsByClass(meter.TimeSignature)):
            if id(element) in here:
                measure.remove(element)
            elif id(element) in seen:
                measure.replace(element, copy.deepcopy(element))
            here.add(id(element))
        seen |= here


def off_grid_bars(score, padding_quarters: float) -> int:
    """Full-length bars of the first part that would not start on a bar line after the padding."""
    part = score.parts[0] if score.parts else score
    position_q, bar_q, count = float(padding_quarters), None, 0
    for measure in part.getElementsByClass("Measure"):
        if measure.timeSignature is not None:
            bar_q = float(measure.timeSignature.barDuration.quarterLength)
        length_q = float(measure.duration.quarterLength)
        if bar_q and abs(length_q - bar_q) < 1e-6 and abs(position_q % bar_q) > 1e-6 and abs(position_q % bar_q - bar_q) > 1e-6:
            count += 1
        position_q += length_q
    return count


def strip_repeats(score) -> None:
    """Remove repeat signs and ending brackets in place: the piece is then played once through."""
    from music21 import bar, spanner

    for measure in score.recurse().getElementsByClass("Measure"):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(measure, side), bar.Repeat):
                setattr(measure, side, bar.Barline("regular"))
    for stream in list(score.recurse(streamsOnly=True, includeSelf=True)):
        for bracket in list(stream.getElementsByClass(spanner.RepeatBracket)):
            stream.remove(bracket)


def score_midi_bytes(score, padding_quarters: float) -> tuple[bytes, bool]:
    """(MIDI bytes, repeats expanded?) from music21's MIDI export.

    music21 expands repeats and endings, but a badly formed repeat makes it raise, and expanding
    can break the bar grid (a pickup repeated after a full bar, a repeat sign in mid-bar): then the
    piece is written once through instead, with its repeat signs and ending brackets removed."""
    from music21 import midi, repeat, stream

    try:
        expanded = score.expandRepeats() if score[stream.Measure] else score  # what music21's MIDI export does
    except repeat.ExpanderException:
        expanded = None
    strip_repeats(score)
    if expanded is not None and off_grid_bars(expanded, padding_quarters) <= off_grid_bars(score, padding_quarters):
        return midi.translate.streamToMidiFile(expanded).writestr(), True
    return midi.translate.streamToMidiFile(score).writestr(), False


def shift_midi_bytes(data: bytes, shift_quarters: float) -> bytes:
    """Move every event right by ``shift_quarters``, except the set-up at tick 0 (meter, key, tempo,
    names, programs), so that a pickup starts after a leading rest and later meter changes, tempo
    changes and bar lines all land where the notation puts them."""
    import mido

    midi_file = mido.MidiFile(file=io.BytesIO(data))
    shift_ticks = round(shift_quarters * midi_file.ticks_per_beat)
    for track in midi_file.tracks:
        events, now_ticks = [], 0
        for message in track:
            now_ticks += message.time
            set_up = now_ticks == 0 and (message.is_meta or message.type in ("program_change", "control_change"))
            last = message.type == "end_of_track"
            events.append((now_ticks if set_up and not last else now_ticks + shift_ticks, last, message))
        events.sort(key=lambda e: (e[0], e[1]))  # stable: same-tick order kept, end of track last
        track[:] = [message.copy(time=tick - previous) for (tick, _, message), previous
                    in zip(events, [0] + [e[0] for e in events[:-1]])]
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()
