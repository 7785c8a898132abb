"""Bundles from strangers: `styles export` / `styles import` round-trip, and every refusal of import."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.styles import archive as style_archive
from midigen.styles.archive import export_style, import_style
from midigen.styles.bundle import load_bundle

Member = tuple[str, bytes | None, bytes]  # (name, content or None for a non-file, tar type)


@pytest.fixture
def bundle_files(tiny_style) -> dict[str, bytes]:
    folder = tiny_style[0] / "tiny-bach"
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _archive(path: Path, members: list[Member], linkname: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content, kind in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, linkname
            info.size = len(content) if content is not None and kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(content) if info.size else None)
    return path


def _good_members(files: dict[str, bytes], folder: str = "shared") -> list[Member]:
    return [(f"{folder}/{name}", data, tarfile.REGTYPE) for name, data in sorted(files.items())]


def _nothing_installed(styles: Path) -> bool:
    return not styles.exists() or list(styles.iterdir()) == []


def test_export_then_import_gives_identical_weights(tiny_style, tmp_path):
    styles, _ = tiny_style
    archive = export_style("tiny-bach", tmp_path / "tiny.tar.gz", styles_dir=styles)
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["tiny-bach", "tiny-bach/model.safetensors", "tiny-bach/style.json"]
        assert all(m.uid == 0 and m.uname == "" for m in tar.getmembers())
    installed = import_style(archive, name="copy", styles_dir=tmp_path / "mine")
    assert installed == tmp_path / "mine" / "copy"
    original, copy = load_bundle(styles / "tiny-bach"), load_bundle(installed)
    assert copy.name == "copy" and copy.weights_sha256 == original.weights_sha256
    for (k, a), (_, b) in zip(original.model.state_dict().items(), copy.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["copy"]  # no temp folder left behind


def test_cli_round_trip_and_existing_names(tiny_style, tmp_path):
    styles, _ = tiny_style
    archive, mine = str(tmp_path / "t.tar.gz"), str(tmp_path / "mine")
    runner = CliRunner()
    result = runner.invoke(main, ["styles", "export", "tiny-bach", archive, "--styles-dir", str(styles)])
    assert result.exit_code == 0 and "exported tiny-bach" in result.output, result.output
    result = runner.invoke(main, ["styles", "import", archive, "--styles-dir", mine])
    assert result.exit_code == 0 and "imported tiny-bach" in result.output, result.output
    result = runner.invoke(main, ["styles", "import", archive, "--styles-dir", mine])
    assert result.exit_code == 2 and "already exists" in result.output and "--force" in result.output
    result = runner.invoke(main, ["styles", "import", archive, "--styles-dir", mine, "--force"])
    assert result.exit_code == 0, result.output
    load_bundle(Path(mine) / "tiny-bach")


@pytest.mark.parametrize("members, linkname, reason", [
    ([("/etc/style.json", b"{}", tarfile.REGTYPE)], "", "absolute"),
    ([("shared/../../evil.json", b"{}", tarfile.REGTYPE)], "", "'..'"),
    ([("shared/model.safetensors", None, tarfile.SYMTYPE)], "/etc/passwd", "links are not allowed"),
    ([("shared/model.safetensors", None, tarfile.LNKTYPE)], "shared/style.json", "links are not allowed"),
    ([("shared/README.md", None, tarfile.CHRTYPE)], "", "no devices"),
    ([("shared/README.md", None, tarfile.FIFOTYPE)], "", "no devices"),
    ([("shared/run.py", b"import os", tarfile.REGTYPE)], "", "not a bundle file"),
    ([("shared/model.pt", b"\x80\x04", tarfile.REGTYPE)], "", "pickle-capable"),
    ([("shared/sub/style.json", b"{}", tarfile.REGTYPE)], "", "directly inside"),
    ([("shared/style.json", b"{}", tarfile.REGTYPE)], "", "appears twice"),
    ([("other/style.json", b"{}", tarfile.REGTYPE)], "", "exactly one style bundle folder"),
])
def test_import_refuses_hostile_members(bundle_files, tmp_path, members, linkname, reason):
    archive = _archive(tmp_path / "x.tar.gz", _good_members(bundle_files) + members, linkname)
    with pytest.raises(MidigenError, match=f"^{tmp_path / 'x.tar.gz'}: .*{reason}"):
        import_style(archive, styles_dir=tmp_path / "styles")
    assert _nothing_installed(tmp_path / "styles")


def test_import_refuses_oversize_members(bundle_files, tmp_path, monkeypatch):
    monkeypatch.setattr(style_archive, "MAX_MEMBER_BYTES", 10_000)
    archive = _archive(tmp_path / "x.tar.gz", _good_members(bundle_files))
    with pytest.raises(MidigenError, match=r"refusing member 'shared/model.safetensors': .* MB \(at most 0 MB\)"):
        import_style(archive, styles_dir=tmp_path / "styles")


def _altered(files: dict[str, bytes], **model) -> dict[str, bytes]:
    meta = json.loads(files["style.json"])
    meta["model"].update(model)
    return {**files, "style.json": json.dumps(meta).encode()}


@pytest.mark.parametrize("change, reason", [
    (lambda f: {**f, "model.safetensors": f["model.safetensors"][:-1] + b"\x00"}, "does not match the SHA-256"),
    (lambda f: {**f, "style.json": f["style.json"].replace(b'"format": 1', b'"format": 99')}, "format 99"),
    (lambda f: _altered(f, n_embd=64), "does not match model.safetensors"),
    (lambda f: _altered(f, n_layer=10**6), "does not match model.safetensors"),
    (lambda f: _altered(f, max_seq_len=10**9), "65536"),
    (lambda f: {"style.json": f["style.json"]}, "model.safetensors missing"),
    (lambda f: {**f, "model.safetensors": b"not safetensors"}, "not a valid style bundle"),
])
def test_import_verifies_the_bundle_before_installing(bundle_files, tmp_path, change, reason):
    archive = _archive(tmp_path / "x.tar.gz", _good_members(change(bundle_files)))
    with pytest.raises(MidigenError, match=reason):
        import_style(archive, styles_dir=tmp_path / "styles")
    assert not (tmp_path / "styles" / "shared").exists()
    assert _nothing_installed(tmp_path / "styles")


def test_import_refuses_what_is_not_an_archive(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b" + b"\x00" * 100)
    with pytest.raises(MidigenError, match="cannot read it as a .tar.gz archive"):
        import_style(junk, styles_dir=tmp_path / "styles")
    with pytest.raises(MidigenError, match="no such file"):
        import_style(tmp_path / "missing.tar.gz", styles_dir=tmp_path / "styles")
    with pytest.raises(MidigenError, match="exactly one style bundle folder"):
        import_style(_archive(tmp_path / "empty.tar.gz", []), styles_dir=tmp_path / "styles")


def test_a_failed_import_keeps_the_installed_style(bundle_files, tmp_path):
    good = import_style(_archive(tmp_path / "good.tar.gz", _good_members(bundle_files)), styles_dir=tmp_path / "styles")
    before = (good / "model.safetensors").read_bytes()
    bad = _archive(tmp_path / "bad.tar.gz", _good_members({**bundle_files, "model.safetensors": b"x" * 100}))
    with pytest.raises(MidigenError):
        import_style(bad, styles_dir=tmp_path / "styles", force=True)
    assert (good / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "styles").iterdir()) == ["shared"]
