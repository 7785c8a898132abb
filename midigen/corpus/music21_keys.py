"""The key of a piece read by music21: the notated key where the source gives tonic and mode, else
the key signature's major or relative minor by profile correlation, else full 24-key key finding."""
from __future__ import annotations

import numpy as np

from ..music.keys import find_key, key_from_signature, parse_key

MINOR_LIKE_MODES = ("minor", "dorian", "phrygian", "aeolian", "locrian")


def notated_key(score) -> tuple[int | None, int | None]:
    """(key if the source states tonic and mode, sharps of the first key signature) of a music21 score.

    ABC ``K:`` fields and MusicXML ``<mode>`` become music21 ``Key`` objects; a bare signature is a
    ``KeySignature``. Church modes map to the major or minor key on the same tonic (A dorian -> A minor).
    """
    from music21 import key as m21key

    signatures = list(score.recurse().getElementsByClass(m21key.KeySignature))
    if not signatures:
        return None, None
    first = signatures[0]
    sharps = int(first.sharps)
    if isinstance(first, m21key.Key) and first.mode:
        mode = "minor" if first.mode in MINOR_LIKE_MODES else "major"
        return parse_key(f"{first.tonic.name.replace('-', 'b')} {mode}"), sharps
    return None, sharps


def decide_key(score, histogram: np.ndarray, profile: str) -> tuple[int | None, str]:
    """(key, how it was decided: "notated", "signature+analysis:<profile>" or "analysis:<profile>")."""
    notated, sharps = notated_key(score)
    if notated is not None:
        return notated, "notated"
    if sharps is not None:
        candidates = (key_from_signature(sharps, False), key_from_signature(sharps, True))
        return find_key(histogram, profile, candidates), f"signature+analysis:{profile}"
    return find_key(histogram, profile), f"analysis:{profile}"
