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

PINNED = {  # pinned on 2026-12-02, before the reorganisation into subpackages
    "compose-bach-chorales": ["ff86d2de957931367150bdeda4714470e075dbbd90a3430b0cee7d9e095160f1",
                              "b5c496e7bb3f62d15ecaf878821600ef379f53ec8520e67d7b1def025be6ed44"],
    "compose-chinese-folk": ["5e03e3ca9d9ed206dfb71d9efa5a1aaf9a85ddb0436c77d31f5deaf57d16c9ff"],
    "compose-jazz": ["436889922ad10c50ac0954cbec8569b1daab388fc4f226c91d0053a6070af59a"],  # pinned when jazz shipped
    "compose-fiddle": ["be5094e701e29bb1821118944cf8a254bf599f143da2117bb571d070e6d4d6f8"],
    "compose-german-folk": ["3d59f452d32f6e29317246e78ca7d5304ec9864e19a2ec3880136b5d46473592"],
    "compose-irish-folk": ["776675cec6b946eb52f527b84c9badc036b7cbcb92b6232f9f9e0d4516ce0fb2"],
    "continue-irish-folk": ["46b2a735678fd4f859543e5893c99d384ce1f87c27aeeee38190afdbf3bebd56"],
    "harmonize-bach-chorales": ["2da35a571b1c393b7dcdf2af5fc5f9c07545ee428afd929ff79034e29d63559c"],
    "infill-bach-chorales": ["74ea3a6c657f920d4e1f42568a49b0f83b00082cf1de2083da8c0f23d4339791"],
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
