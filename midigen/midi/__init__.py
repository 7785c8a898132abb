"""Standard MIDI Files: read them defensively into pieces, write pieces, and patch new notes into a user's file."""
