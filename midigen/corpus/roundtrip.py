"""Tokenizer checks a user can run on their own files."""
from __future__ import annotations

from pathlib import Path

from ..errors import MidigenError
from ..tokens.tokenizer import decode, encode, token_names
from .reader import load_piece


def tokenize_file(path: str | Path) -> list[str]:
    piece, _ = load_piece(path)
    return token_names(encode(piece))


def check_roundtrip(path: str | Path) -> dict:
    """Notes in the file, notes after decode(encode(...)), and whether that equals the quantized piece."""
    try:
        piece, n_in = load_piece(path)
    except MidigenError as e:
        return {"path": str(path), "notes_in": None, "notes_out": None, "exact": False, "error": str(e)}
    ids = encode(piece)
    back = decode(ids)
    return {"path": str(path), "notes_in": n_in, "notes_out": back.n_notes, "tokens": int(len(ids)),
            "exact": back == piece, "error": None}
