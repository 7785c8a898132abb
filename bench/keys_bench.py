"""Keys: how often the reader's "signature contradicted by the notes" rule fires on trustworthy signatures,
and how often it recovers the right key when the signature is a sequencer's default C major, or absent.

    python -m bench.keys_bench extract --collection bach-chorales [--pieces 400] [--seconds 100]
    python -m bench.keys_bench measure [--margins 0.1,0.15,0.2,0.25]

The figures quoted (``keys.KEY_CONTRADICTION_MARGIN``, README) are from samples of 408 Bach chorales (all),
500 of O'Neill's tunes, 400 of Ryan's, 500 Essen German and 300 Chinese songs and 200 Palestrina movements
(``--pieces``), extracted in runs of under two minutes each (~10 minutes of one core in all).

``extract`` parses an evenly spread sample of a music21 collection (resumable: at most ``--seconds`` a run,
pieces already done are kept in ``~/.cache/midigen/keys-bench/COLLECTION.json``) and keeps, per piece, its
duration-weighted pitch-class histogram (every pitched note, as the reader counts them), its first key
signature (sharps), the key the source notates (tonic and mode, where it does: ABC ``K:``, MusicXML
``<mode>``) and the key ``corpus import music21`` decides and writes into the MIDI file.

``measure`` runs ``midigen.music.keys.decide_key`` on every piece at each margin:

- *false overrides*: the signature kept? Signature: the source's own (its sharps, with the mode it
  notates), and the key ``corpus import`` writes (what the reader sees in an imported corpus: church modes
  become major or minor on their tonic, A dorian as A minor). Counted among the pieces that end in one of
  their signature's two keys (final bass note as tonic, the longer-sounding third above it as mode), so
  that pieces whose notation is itself misleading (Bach's "Dorian" signatures, G minor with one flat;
  Essen's ``K:`` fields, which give the tonic only) do not count against the rule; all overrides are
  reported too, with those that end in the new key;
- *recovered*: the key decided from the source's own signature, found again from C major written in its
  place (as sequencers write by default) and from no signature, among the pieces not in C major / A minor
  (for the others the default is right);
- *mode*: how often the decided key has the mode the source notates (pieces ending on the notated tonic),
  with the signature stating it, and with a default major in its place.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.common import save

COLLECTIONS = ("bach-chorales", "irish-oneills", "fiddle-ryans", "essen-german", "essen-chinese", "palestrina")
FACTS_VERSION = 2  # 2: the final bass note
DEFAULT_MARGINS = (0.1, 0.15, 0.2, 0.25)


def cache_dir() -> Path:
    from midigen.corpus.dataset import default_cache_dir

    return default_cache_dir() / "keys-bench"


def _piece_facts(source: str, profile: str) -> dict:
    from music21 import converter
    from music21 import key as m21key

    from midigen.corpus.music21_import import corpus_root
    from midigen.corpus.music21_keys import decide_key, notated_key

    path, _, number = source.partition("#")
    full = corpus_root() / path
    score = converter.parse(str(full), number=int(number)) if number else converter.parse(str(full))
    histogram = np.zeros(12)
    n_notes, ends = 0, []
    for note in score.flatten().notes:
        for pitch in getattr(note, "pitches", ()):
            histogram[pitch.pitchClass] += float(note.quarterLength)
            n_notes += 1
            ends.append((float(note.offset + note.quarterLength), pitch.midi))
    last = max((e for e, _ in ends), default=0.0)
    final = min((m for e, m in ends if e >= last - 1e-6), default=None)
    notated, sharps = notated_key(score)
    signatures = list(score.recurse().getElementsByClass(m21key.KeySignature))
    mode = getattr(signatures[0], "mode", None) if signatures else None
    imported, how = decide_key(score, histogram, profile)
    return {"source": source, "histogram": histogram.round(4).tolist(), "n_notes": n_notes, "sharps": sharps,
            "notated": notated, "mode": mode, "imported": imported, "imported_how": how,
            "signatures": len({s.sharps for s in signatures}),
            "final_pc": None if final is None else final % 12, "facts": FACTS_VERSION}


def extract(collection: str, pieces: int, seconds: float) -> dict:
    from midigen.corpus.music21_import import collection as find_collection
    from midigen.corpus.music21_import import list_pieces

    c = find_collection(collection)
    refs = list_pieces(collection)
    step = max(1, len(refs) // pieces)
    sample = [r.source for r in refs[::step]][:pieces]
    path = cache_dir() / f"{collection}.json"
    done = json.loads(path.read_text()) if path.exists() else {}
    start = time.perf_counter()
    for source in sample:
        if done.get(source, {}).get("facts") == FACTS_VERSION:
            continue
        if time.perf_counter() - start > seconds:
            break
        try:
            done[source] = _piece_facts(source, c.key_profile)
        except Exception as e:  # music21 raises many unrelated types on bad encodings: note it, go on
            done[source] = {"source": source, "error": f"{type(e).__name__}: {e}"[:200], "facts": FACTS_VERSION}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(done))
    left = sum(done.get(s, {}).get("facts") != FACTS_VERSION for s in sample)
    return {"collection": collection, "sample": len(sample), "done": len(sample) - left, "left": left}


def _load(collection: str) -> list[dict]:
    path = cache_dir() / f"{collection}.json"
    if not path.exists():
        return []
    return [p for p in json.loads(path.read_text()).values() if "error" not in p and p["n_notes"]]


def _rate(hits: int, n: int) -> dict:
    return {"n": n, "rate": hits / n if n else None}


def cadence_key(piece: dict) -> int | None:
    """The key a piece ends in: the final bass note as tonic, major or minor by which third above it
    sounds longer over the whole piece. Independent of the profiles the rule uses."""
    tonic, histogram = piece["final_pc"], piece["histogram"]
    if tonic is None:
        return None
    return tonic if histogram[(tonic + 4) % 12] >= histogram[(tonic + 3) % 12] else 12 + tonic


def measure_collection(pieces: list[dict], margin: float) -> dict:
    from midigen.music import keys

    def decide(signature, p):
        return keys.decide_key(signature, np.asarray(p["histogram"]), p["n_notes"], margin=margin)

    with_sig = [p for p in pieces if p["sharps"] is not None and p["imported"] is not None]
    out: dict = {"pieces": len(pieces), "with_signature": len(with_sig)}
    source_keys = [keys.key_from_signature(p["sharps"], p["mode"] == "minor") for p in with_sig]
    for name, signatures in (("source", source_keys), ("imported", [p["imported"] for p in with_sig])):
        decided = [decide(s, p) for s, p in zip(signatures, with_sig)]
        fired = [how == keys.KEY_SIGNATURE_CONTRADICTED for _, how in decided]
        # False overrides: among pieces that end in one of their signature's two keys.
        trusted = [f for f, s, p in zip(fired, signatures, with_sig) if cadence_key(p) in (s, keys.relative_key(s))]
        out[f"false_override_{name}"] = _rate(sum(trusted), len(trusted))
        out[f"overridden_{name}"] = _rate(sum(fired), len(fired))
        out[f"overridden_{name}_ending_in_new_key"] = _rate(
            sum(f and cadence_key(p) == k for f, (k, _), p in zip(fired, decided, with_sig)), len(fired))
    # Recovery: the key decided from the source's own signature, found again from C major or from none.
    reference = [decide(s, p)[0] for s, p in zip(source_keys, with_sig)]
    hard = [(r, p) for r, p in zip(reference, with_sig) if keys.signature_of_key(r) != 0]
    for name, signature in (("c_major", 0), ("none", None)):
        decided = [decide(signature, p)[0] for _, p in hard]
        out[f"recovered_{name}"] = _rate(sum(d == r for d, (r, _) in zip(decided, hard)), len(hard))
        out[f"recovered_{name}_signature"] = _rate(
            sum(d is not None and keys.signature_of_key(d) == keys.signature_of_key(r) for d, (r, _) in zip(decided, hard)),
            len(hard))
    # The mode, against the mode the source notates (pieces ending on the notated tonic; Bach's "Dorian"
    # signatures, G minor with one flat read as D minor, are left out so), with the signature stating it
    # and with a sequencer's default major in its place.
    for mode in ("major", "minor"):
        moded = [p for p in with_sig if p["mode"] == mode and p["notated"] is not None
                 and p["final_pc"] == p["notated"] % 12]
        out[f"mode_{mode}_stated"] = _rate(sum(decide(p["notated"], p)[0] == p["notated"] for p in moded), len(moded))
        out[f"mode_{mode}_stated_major"] = _rate(
            sum(decide(keys.key_from_signature(p["sharps"], False), p)[0] == p["notated"] for p in moded), len(moded))
    return out


def measure(margins: tuple[float, ...]) -> dict:
    results = {}
    for collection in COLLECTIONS:
        pieces = _load(collection)
        if pieces:
            results[collection] = {f"{m:g}": measure_collection(pieces, m) for m in margins}
    return {"margins": list(margins), "results": results}


def _pct(rate: dict) -> str:
    return "  -  " if rate["rate"] is None else f"{100 * rate['rate']:4.1f}"


def report(result: dict) -> list[str]:
    lines = ["false overrides: % of the pieces ending in one of their signature's keys (source / imported signature);",
             "all overrides: % of all pieces (source / imported), and of all, those ending in the new key;",
             "recovered: % of pieces not in C major / A minor whose key is found again from a C major signature / none",
             "mode right (at the default margin): % of pieces ending on the notated tonic given the mode they notate, "
             "the signature stating it / a default major"]
    from midigen.music.keys import KEY_CONTRADICTION_MARGIN

    for collection, by_margin in result["results"].items():
        first = by_margin.get(f"{KEY_CONTRADICTION_MARGIN:g}", next(iter(by_margin.values())))
        lines.append(f"{collection}: {first['pieces']} pieces, {first['with_signature']} with a signature; mode right "
                     f"(stated / default major): major {_pct(first['mode_major_stated'])} / {_pct(first['mode_major_stated_major'])} "
                     f"of {first['mode_major_stated']['n']}, minor {_pct(first['mode_minor_stated'])} / "
                     f"{_pct(first['mode_minor_stated_major'])} of {first['mode_minor_stated']['n']}")
        lines.append("   margin  false overrides   all overrides (ending in new key)   recovered from C / none (of N)")
        for margin, r in by_margin.items():
            lines.append(f"   {margin:>6}  {_pct(r['false_override_source'])} / {_pct(r['false_override_imported'])}"
                         f"       {_pct(r['overridden_source'])} / {_pct(r['overridden_imported'])} "
                         f"({_pct(r['overridden_source_ending_in_new_key'])})"
                         f"                 {_pct(r['recovered_c_major'])} / {_pct(r['recovered_none'])} "
                         f"(of {r['recovered_none']['n']})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("--collection", choices=COLLECTIONS, required=True)
    ex.add_argument("--pieces", type=int, default=400)
    ex.add_argument("--seconds", type=float, default=100.0)
    me = sub.add_parser("measure")
    me.add_argument("--margins", default=",".join(f"{m:g}" for m in DEFAULT_MARGINS))
    args = parser.parse_args()
    if args.command == "extract":
        print(extract(args.collection, args.pieces, args.seconds))
        return
    result = measure(tuple(float(m) for m in args.margins.split(",")))
    print("\n".join(report(result)))
    print(f"-> {save('keys_bench', result)}")


if __name__ == "__main__":
    main()
