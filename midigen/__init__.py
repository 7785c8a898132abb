"""midigen: train a style from MIDI files, then compose new MIDI in that style.

How the data flows through the subpackages:

    corpus files -> corpus/ (+ midi/, music/) -> tokens/ -> training/ (model/) -> styles/ (bundle)
        -> sampling/ -> tasks/ -> midi/ files, media/ previews;  evalsuite/ measures;  serve/ is the studio page;
        cli/ is the thin shell

What each one owns, in layer order (each may import only what is listed above it; the exact table is
tests/test_layering.py):

    errors, fsutil  the one user-facing error type; atomic file writes
    music/      pieces on the step grid, keys, chords, chord symbols, note spelling: no tokens, no files
    midi/       Standard MIDI Files: read defensively into pieces, written, new notes patched into a user's file;
                part names from General MIDI programs
    tokens/     pieces as token ids and back: the vocabulary, the grammar, the tokenizer, transposition
    model/      the Transformer, its numpy decoder for CPU sampling, the n-gram baseline; ids only
    corpus/     folders of music read and tokenized (cached), split (by tune family or the manifest's), counted; imports
    styles/     bundles on disk: where they are found, what style.json says, archives, the parts a style writes
    training/   the config, corpora to batches, the loop, checkpoints, DDP, held-out likelihood; installs a bundle
    sampling/   the batched sampler, its constraint masks, and the locks that force given notes
    tasks/      compose, continue, infill, harmonize: one request in, takes out (one sampling skeleton)
    media/      previews of a piece: audio (FluidSynth or sine tones) and a piano-roll picture
    evalsuite/  ``midigen eval``: likelihood, compliance, originality and style match against the real corpus
    serve/      ``midigen serve``: the local studio page and its JSON API over tasks, styles and media
    cli/        the ``midigen`` command: click options to library calls, every error to one line
"""

__version__ = "0.1.0"
