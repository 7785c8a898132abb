"""The same style, seed and options give the same bytes: one pinned SHA-256 per shipped style and command.

Pinned before the package was reorganised into subpackages, so that moving code cannot change a take. The
hashes are of whole MIDI files (provenance text included), made through the CLI, on this project"s CPU
(the numpy decoder, one BLAS thread). A retrained bundle changes them on purpose: regenerate with
``python -m tests.test_byte_identity`` and say so in the commit.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from midigen.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
STYLES = ROOT / "styles"

G = str(GOLDEN)
RUNS = {  # name -> the arguments after `midigen` (plus --styles-dir and -o)
    "compose-bach-chorales": ["compose", "--style", "bach-chorales", "--bars", "4", "--key", "D minor", "--tempo", "76",
                              "--seed", "1", "--variations", "2"],
    "compose-irish-folk": ["compose", "--style", "irish-folk", "--bars", "4", "--key", "G major", "--seed", "2",
                           "--chords", "G | C | D7 | G", "--chords-track"],
    "compose-fiddle": ["compose", "--style", "fiddle", "--bars", "4", "--time-sig", "6/8", "--seed", "3", "--strict-key",
                       "--range", "C4-A5"],
    "compose-german-folk": ["compose", "--style", "german-folk", "--bars", "4", "--seed", "4", "--temperature", "0.8",
                            "--top-p", "0.9"],
    "compose-chinese-folk": ["compose", "--style", "chinese-folk", "--bars", "4", "--seed", "5"],
    "compose-jazz": ["compose", "--style", "jazz", "--bars", "4", "--key", "F major", "--tempo", "140", "--seed", "9"],
    "continue-irish-folk": ["continue", f"{G}/scale_in_c.mid", "--style", "irish-folk", "--bars", "2", "--seed", "6"],
    "infill-bach-chorales": ["infill", f"{G}/triplets_tempo_meter_change.mid", "--style", "bach-chorales", "--bars", "1-1",
                             "--seed", "7"],
    "harmonize-bach-chorales": ["harmonize", f"{G}/scale_in_c.mid", "--style", "bach-chorales", "--seed", "8"],
}

PINNED = {  # re-pinned 2026-12-02 for --max-copy (issue 19): every take records the N it was guarded by; the
    # notes are those of the previous pins (checked with --max-copy off: no note differs)
    "compose-bach-chorales": ["cb4b1a414d1d28dd6005bb604d35dd97c91a070451a12a897d4cee9795534916",
                              "c83b042d49a109d916ac54911ac65d89d63792a7f193e2746b386beb439c96bb"],
    "compose-chinese-folk": ["7c6c16adf9d7d7af0f10efa9b4bc8380f0b1d942c73783808dc0a3c4ff6dba98"],
    "compose-fiddle": ["f2bcb3cf441fb24ad69ee1f83b86c76e06c3bc680fd842d153c13742026800d4"],
    "compose-german-folk": ["d2217fbf6cca7951d1e44610740b00281103daf2d2fc4e5f8b26babfcb25c448"],
    "compose-irish-folk": ["11df5b3dea136f9fcbd09ca2cbac9a4c05bfe79e18ca7511aebfd54c08d65dfd"],
    "compose-jazz": ["432dbaa270a981dadebb055e821655b10b36a78e1f8ab030436fb0905c47853a"],
    "continue-irish-folk": ["020ce58b2d80ff7836326502d0cc54aba95f1098b24985657a814fecde293f15"],
    "harmonize-bach-chorales": ["71fd6144470b5c21c2ba0b8c22f8e943b9dea5c2891aa275d5429613b99139e2"],
    "infill-bach-chorales": ["97bf900de73d206d1438c54d8843b2f8716093c0bd145a32e287ff9aef118ee5"],
}


def run(name: str, out: Path) -> list[str]:
    """SHA-256 of each file the run writes, in order."""
    result = CliRunner().invoke(main, [*RUNS[name], "--styles-dir", str(STYLES), "-o", str(out / "take.mid")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("take*.mid"))]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_same_options_give_the_pinned_bytes(name, tmp_path):
    assert run(name, tmp_path) == PINNED[name]


if __name__ == "__main__":  # print the table to paste into PINNED
    import tempfile

    for name in sorted(RUNS):
        folder = Path(tempfile.mkdtemp())
        try:
            print(f"    {name!r}: {run(name, folder)!r},", file=sys.stdout)
        finally:
            shutil.rmtree(folder)
