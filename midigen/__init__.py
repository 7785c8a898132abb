"""midigen: train a style from MIDI files, then compose new MIDI in that style."""

__version__ = "0.1.0"
