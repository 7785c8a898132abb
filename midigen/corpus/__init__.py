"""Corpora: reading folders of music, importing music21's corpora, statistics, splits and caches."""
