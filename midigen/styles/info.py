"""What the ``styles`` commands show: summaries of bundles, read from their ``style.json``."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import MidigenError
from .bundle import read_meta
from .parts import describe_instrumentations, describe_parts, style_parts
from .registry import PROJECT_STYLES, find_style, list_style_dirs
from .sidecar import side_files


def _test_figure(meta: dict, who: str) -> float | None:
    metrics = meta.get("metrics", {})
    side = metrics.get("test") or metrics.get("valid") or {}
    return (side.get(who) or {}).get("bits_per_note")


def summary(path: Path) -> dict:
    meta = read_meta(path)
    return {"name": meta["name"], "path": str(path), "pieces": meta.get("corpus", {}).get("pieces", 0),
            "params": meta.get("params", 0), "test_bits_per_note": _test_figure(meta, "model"),
            "ngram_bits_per_note": _test_figure(meta, "ngram"), "created": meta.get("created", "")}


def list_styles(styles_dir=None) -> list[dict]:
    rows = []
    for path in list_style_dirs(styles_dir):
        try:
            rows.append(summary(path))
        except MidigenError as e:
            rows.append({"name": path.name, "path": str(path), "pieces": 0, "params": 0, "test_bits_per_note": None,
                         "ngram_bits_per_note": None, "created": "", "error": str(e)})
    return rows


def style_path(name: str, styles_dir=None) -> Path:
    return find_style(name, styles_dir)


def show_style(name: str, styles_dir=None) -> dict:
    path = find_style(name, styles_dir)
    return {**read_meta(path), "path": str(path)}


def describe(meta: dict) -> list[str]:
    corpus, training = meta.get("corpus", {}), meta.get("training", {})
    stats = corpus.get("stats", {})

    def top(d: dict, n: int = 5) -> str:
        return ", ".join(f"{k} ({v})" for k, v in list(d.items())[:n]) or "-"

    lines = [
        f"{meta['name']}  ({meta.get('params', 0) / 1e6:.2f}M parameters, midigen {meta.get('midigen_version')}, "
        f"created {meta.get('created', '?')})",
        f"path: {meta.get('path')}",
        f"corpus: {corpus.get('pieces')} pieces from {corpus.get('root')} ({corpus.get('collection') or 'own files'})",
        f"licence: {corpus.get('licence')}",
        f"keys: {top(stats.get('keys', {}))}",
        f"meters: {top(stats.get('meters', {}))}   tempos: {top(stats.get('tempos_bpm', {}))}",
        f"programs: {top(stats.get('programs', {}))}   pitch range: {stats.get('pitch_min')}-{stats.get('pitch_max')}",
        # a multi-style base is not composed in: it has no parts to offer
        *([] if meta.get("corpora") else [
            f"parts (compose --parts): {describe_parts(style_parts(meta), stats.get('pieces'))}",
            f"instrumentations (compose draws one a take): {describe_instrumentations(meta)}"]),
        f"training: size {training.get('size')}, {training.get('steps_done')} steps (best at {training.get('best_step')}), "
        f"seed {training.get('seed')}, on {meta.get('hardware', {}).get('device')}",
        f"command: {meta.get('command')}",
        *([] if meta.get("corpora") or not meta.get("path") else [side_files(Path(meta["path"]), meta)]),
    ]
    if training.get("style_slot") is not None:
        lines.append(f"conditioned on Style_{training['style_slot']}"
                     + (f" (fine-tuned from '{training['from_style']}')" if training.get("from_style") else ""))
    for c in meta.get("corpora", []):  # a multi-style base: one line per corpus it was trained on
        m = c["metrics"].get("test") or c["metrics"].get("valid")
        figures = f"test bits/note {m['model']['bits_per_note']:.3f}, n-gram {m['ngram']['bits_per_note']:.3f}" if m else "no test split"
        lines.append(f"  Style_{c['slot']} {c['label']}: {c['pieces']} pieces from {c['root']}; {figures}")
    for side in ("valid", "test"):
        m = meta.get("metrics", {}).get(side)
        if m:
            lines.append(f"{side} bits/note: model {m['model']['bits_per_note']:.3f} "
                         f"(grammar-masked {m['model_grammar_masked']['bits_per_note']:.3f}), "
                         f"n-gram {m['ngram']['bits_per_note']:.3f}; bits/quarter {m['model']['bits_per_quarter']:.3f}")
    return lines


def remove_style(name: str, styles_dir=None) -> Path:
    path = find_style(name, styles_dir)
    if path.resolve().parent == PROJECT_STYLES.resolve() and not styles_dir:
        raise MidigenError(f"{path} is a shipped style of this project; remove it with git, not `styles rm`")
    shutil.rmtree(path)
    return path
