"""Music on the step grid: pieces, the grid tables, keys, chords and chord symbols. No tokens, no files."""
