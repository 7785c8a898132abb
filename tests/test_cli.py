"""The CLI: every command has help and a README example; errors are one line with exit code 2."""
from __future__ import annotations

import json
import re
from pathlib import Path

import click
from click.testing import CliRunner

from midigen.cli import main

README = (Path(__file__).parent.parent / "README.md").read_text()


def _leaf_commands(group: click.Group, prefix: str = "midigen") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out += _leaf_commands(command, path)
        else:
            out.append((path, command))
    return out


def test_every_command_has_help_and_a_readme_example():
    commands = _leaf_commands(main)
    assert len(commands) >= 4
    for path, command in commands:
        assert command.help and len(command.help.strip()) > 20, path
        assert re.search(rf"^\s*(\$ )?{re.escape(path)}\b", README, re.M), f"README has no example of `{path}`"
        result = CliRunner().invoke(main, path.split()[1:] + ["--help"])
        assert result.exit_code == 0, (path, result.output)


def test_tokenize_prints_tokens_and_checks_round_trip(golden_dir):
    runner = CliRunner()
    result = runner.invoke(main, ["tokenize", str(golden_dir / "scale_in_c.mid")])
    assert result.exit_code == 0
    assert result.output.split() == (golden_dir / "scale_in_c.tokens.txt").read_text().split()
    result = runner.invoke(main, ["tokenize", str(golden_dir), "--check-roundtrip", "--json"])
    rows = json.loads(result.output)
    assert len(rows) == 3 and all(r["exact"] for r in rows)
    assert {r["notes_in"] for r in rows} == {5, 6, 10}


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"nope")
    result = CliRunner().invoke(main, ["tokenize", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {bad}: not a Standard MIDI File (no MThd header)"
    result = CliRunner().invoke(main, ["tokenize", str(tmp_path / "missing.mid")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_corpus_stats_and_split(real_midi_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["corpus", "stats", str(real_midi_dir), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output[result.output.index("{"):])
    assert stats["pieces"] == 3 and stats["notes"] > 500 and stats["skipped"] == []
    folder = tmp_path / "c"
    folder.mkdir()
    for f in real_midi_dir.glob("*.mid"):
        (folder / f.name).write_bytes(f.read_bytes())
    result = runner.invoke(main, ["corpus", "split", str(folder)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sum(manifest["split"]["sizes"].values()) == 3
