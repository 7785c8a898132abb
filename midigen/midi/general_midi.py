"""General MIDI facts the reader and writers share: channels, the drum channel, instrument families.

One place for them so that "channel 10 is drums" is written once: ``files`` writes parts to channels
by it and ``patch`` finds and adds parts by it.
"""
from __future__ import annotations

N_CHANNELS = 16
DRUM_CHANNEL = 9  # channel 10 as musicians count, 0-based as MIDI bytes and mido count
# The 16 families of 8 programs each, shortened for track names ("Piano 1", "Strings 3").
GM_NAMES_SHORT = ("Piano", "Chromatic Perc.", "Organ", "Guitar", "Bass", "Strings", "Ensemble", "Brass",
                  "Reed", "Pipe", "Synth Lead", "Synth Pad", "Synth FX", "Ethnic", "Percussive", "Sound FX")
