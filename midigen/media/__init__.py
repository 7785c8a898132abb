"""Previews of a piece: audio through FluidSynth (or sine tones) and a piano-roll picture."""
