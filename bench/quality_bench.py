"""Modelling quality: midigen vs Hugging Face GPT2LMHeadModel on MidiTok REMI, same data, same budget (issue #10).

    python -m bench.quality_bench [--config auto|cpu|gpu] [--device auto|cpu|cuda] [--seed 0]
                                  [--collections bach-chorales,irish-oneills] [--json PATH] [--threads N]
                                  [--size S --steps N --batch-size N --seq-len N --eval-every N]  (overrides)

For each corpus both models see exactly the same music:

* the split is midigen's family-aware split of the corpus folder (``midigen.corpus.split``), so no tune
  family is on both sides;
* midigen's model trains on midigen tokens; GPT-2 on MidiTok REMI tokens of the same MIDI files, with the
  configuration ``bench.tokenize_bench`` measures (``TokenizerConfig()``). A file's tracks are merged into
  one stream first (MidiTok's own treatment of tracks that share a program), so that REMI, like midigen,
  models all the voices of a piece jointly; REMI sequences get BOS and EOS as midigen's have;
* transposition augmentation is the same: each train piece may be shifted by the semitones midigen's
  ``PieceBank`` allows for it (clipped to REMI's pitch range). REMI is transposed by shifting its Pitch
  tokens, which a self-check proves equal to tokenizing the shifted MIDI file;
* the same packed batches (``midigen.training.batches.BatchSampler``: whole pieces per row, cropped at a random
  bar line), the same tokens per step, the same number of optimizer steps, the same optimizer (midigen's
  AdamW groups, warm-up then cosine, gradient clipping) and dropout 0.1 on both sides;
* GPT-2 has midigen's depth and heads and the width whose parameter count is nearest midigen's; the run
  refuses to start when they differ by more than ``PARAM_TOLERANCE``;
* both keep the weights with the best validation bits/note (no early stop: both run every step) and are
  scored on the test side by the same code (``midigen.training.likelihood``: the NLL of all tokens after BOS, long
  pieces in overlapping windows of the training context) divided by the number of notes *in the MIDI
  file*, which is the same denominator for both; where midigen's or REMI's note count differs from the
  file's, the piece is listed in ``note_count_mismatches``.

The order-4 Witten-Bell n-gram (``midigen.model.ngram``), fitted on every transposition of the train side, is
reported beside them, on midigen tokens and on REMI tokens.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from bench.common import RESULTS, corpus_dir, save
from midigen.corpus.dataset import build_dataset
from midigen.corpus.split import SPLIT_NAMES, split_dataset
from midigen.model.ngram import NGramModel
from midigen.model.transformer import MusicTransformer, config_for_size
from midigen.tokens.tokenizer import with_style
from midigen.tokens.vocab import VOCAB
from midigen.training.batches import PAD_TARGET, BatchSampler, PieceBank
from midigen.training.likelihood import evaluate, ngram_likelihood
from midigen.training.train import TrainConfig, _optimizer, optimizer_step, resolve_device

COLLECTIONS = ("bach-chorales", "irish-oneills")
PARAM_TOLERANCE = 0.05  # GPT-2's parameter count may differ from midigen's by at most this fraction
GOAL_RATIO = 0.9  # the goal: midigen's test bits/note at most 90 % of GPT-2's (>= 10 % fewer)
GOAL = (f"midigen test bits/note <= {GOAL_RATIO:.2f}x HF GPT-2 on REMI (>= {1 - GOAL_RATIO:.0%} fewer), "
        "equal params and steps, on every corpus")
TRANSPOSITION_CHECK_PIECES = 8  # train pieces whose token-shifted REMI is compared with re-tokenized shifted MIDI


@dataclass(frozen=True)
class QualityConfig:
    """The training budget both models get."""

    size: str  # midigen's named model size; GPT-2 is matched to its parameter count
    steps: int
    batch_size: int
    seq_len: int
    eval_every: int  # validation bits/note every this many steps (and at the last), best weights kept

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.seq_len


CONFIGS = {
    # the protocol on a lent GPU: ~19M parameters, 1,500 steps of 32k tokens
    "gpu": QualityConfig(size="base", steps=1500, batch_size=32, seq_len=1024, eval_every=250),
    # sized for ~15 min on 2 idle CPU cores (from bench.train_bench's CPU tokens/s); on 2 shared cores, 1 thread: 48 min
    "cpu": QualityConfig(size="small", steps=240, batch_size=8, seq_len=256, eval_every=120),
}


class RemiCodec:
    """MidiTok REMI with the ids a language model needs: BOS/EOS, Pitch tokens and their pitches, Bar."""

    def __init__(self):
        from miditok import REMI, TokenizerConfig

        self.tokenizer = REMI(TokenizerConfig())  # the configuration bench.tokenize_bench measures
        vocab = self.tokenizer.vocab
        self.size = len(vocab)
        self.bos, self.eos, self.pad, self.bar = vocab["BOS_None"], vocab["EOS_None"], vocab["PAD_None"], vocab["Bar_None"]
        self.pitch_of = np.full(self.size, -1, dtype=np.int64)  # token id -> MIDI pitch (-1: not a Pitch token)
        for token, i in vocab.items():
            if token.startswith("Pitch_"):
                self.pitch_of[i] = int(token.split("_")[1])
        pitches = self.pitch_of[self.pitch_of >= 0]
        self.pitch_low, self.pitch_high = int(pitches.min()), int(pitches.max())
        self.id_of = np.full(self.pitch_high + 1, -1, dtype=np.int64)  # MIDI pitch -> token id
        self.id_of[self.pitch_of[self.pitch_of >= 0]] = np.flatnonzero(self.pitch_of >= 0)

    def encode_score(self, score) -> np.ndarray:
        """BOS, the REMI tokens of all the score's tracks merged into one (in place, in ``score``), EOS."""
        from miditok.utils import merge_tracks

        if len(score.tracks) > 1:
            merge_tracks(score)
        out = self.tokenizer(score)
        seqs = out if isinstance(out, list) else [out]
        body = [i for s in seqs for i in s.ids]
        return np.asarray([self.bos, *body, self.eos], dtype=np.int64)

    def encode_file(self, path: Path, shift: int = 0) -> np.ndarray:
        from symusic import Score

        score = Score(str(path))
        return self.encode_score(score.shift_pitch(shift) if shift else score)

    def notes(self, ids: np.ndarray) -> int:
        return int((self.pitch_of[ids] >= 0).sum())

    def pitch_span(self, ids: np.ndarray) -> tuple[int, int]:
        pitches = self.pitch_of[ids][self.pitch_of[ids] >= 0]
        return (int(pitches.min()), int(pitches.max())) if pitches.size else (self.pitch_low, self.pitch_low)

    def transpose(self, ids: np.ndarray, shift: int) -> np.ndarray:
        out = ids.copy()
        if shift:
            is_pitch = self.pitch_of[ids] >= 0
            out[is_pitch] = self.id_of[self.pitch_of[ids[is_pitch]] + shift]
        return out


class RemiBank:
    """REMI pieces with the interface ``midigen.training.batches.BatchSampler`` draws from (``PieceBank``'s)."""

    crop = PieceBank.crop  # the same random-bar-line crop (the header kept in front is BOS), on this bank's bar lines

    def __init__(self, codec: RemiCodec, pieces: list[np.ndarray], shifts: list[np.ndarray]):
        self.codec = codec
        self.ids = [np.asarray(p, dtype=np.int64) for p in pieces]
        self.shifts = shifts
        self.bars = [np.flatnonzero(p == codec.bar) for p in self.ids]
        self.lengths = np.array([len(p) for p in self.ids])

    def __len__(self) -> int:
        return len(self.ids)

    def transposed(self, i: int, shift: int) -> np.ndarray:
        return self.codec.transpose(self.ids[i], shift)


class HFCausalLM(torch.nn.Module):
    """A Hugging Face causal LM behind midigen's model interface: ``model(x, y) -> (logits, loss)`` and
    ``cfg.max_seq_len``, so that one training loop and one evaluator serve both models."""

    def __init__(self, hf: torch.nn.Module, max_seq_len: int):
        super().__init__()
        self.hf = hf
        self.cfg = SimpleNamespace(max_seq_len=max_seq_len)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.hf(input_ids=idx, use_cache=False).logits
        if targets is None:
            return logits, None
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=PAD_TARGET)
        return logits, loss

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def matched_gpt2_config(target_params: int, n_layer: int, n_head: int, codec: RemiCodec, n_positions: int, dropout: float):
    """The GPT2Config of midigen's depth and heads whose parameter count is nearest ``target_params``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    def config(n_embd: int) -> GPT2Config:
        return GPT2Config(vocab_size=codec.size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                          resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                          bos_token_id=codec.bos, eos_token_id=codec.eos, pad_token_id=codec.pad)

    def params(n_embd: int) -> int:
        with torch.device("meta"):
            return sum(p.numel() for p in GPT2LMHeadModel(config(n_embd)).parameters())

    # parameters grow monotonically with the width: walk up in steps of n_head until past the target
    width = n_head
    while params(width + n_head) < target_params:
        width += n_head
    best = min((width, width + n_head), key=lambda w: abs(params(w) - target_params))
    return config(best), params(best)


@dataclass
class Sides:
    """One corpus split for both tokenizations: per side, token arrays, notes per piece (from the file) and quarters."""

    midigen: dict[str, tuple[list[np.ndarray], list[int], list[float]]]
    remi: dict[str, tuple[list[np.ndarray], list[int], list[float]]]
    paths: dict[str, list[str]]  # per side, relative to the corpus folder
    midigen_shifts: list[np.ndarray]  # allowed transpositions of each train piece (midigen's PieceBank)
    remi_shifts: list[np.ndarray]
    sizes: dict[str, int]
    families: int
    note_count_mismatches: list[dict]
    remi_shifts_dropped: int  # transpositions midigen allows that REMI's pitch range does not


def load_sides(folder: Path, seed: int, codec: RemiCodec) -> Sides:
    from symusic import Score

    dataset = build_dataset(folder)
    split = split_dataset(dataset, seed)
    midigen, remi, paths, mismatches = {}, {}, {}, []
    for side in SPLIT_NAMES:
        ours, theirs, notes, quarters = [], [], [], []
        for i in getattr(split, side):
            record = dataset.records[i]
            score = Score(str(dataset.root / record.path))
            file_notes = sum(t.note_num() for t in score.tracks)
            ids = codec.encode_score(score)
            if not record.n_notes == codec.notes(ids) == file_notes:
                mismatches.append({"path": record.path, "side": side, "file": file_notes, "midigen": record.n_notes,
                                   "remi": codec.notes(ids)})
            ours.append(with_style(np.asarray(dataset.ids(i)), None))
            theirs.append(ids)
            notes.append(file_notes)
            quarters.append(record.quarters)
        midigen[side], remi[side] = (ours, notes, quarters), (theirs, notes, quarters)
        paths[side] = [dataset.records[i].path for i in getattr(split, side)]
    midigen_shifts = PieceBank(midigen["train"][0]).shifts
    remi_shifts, dropped = [], 0
    for ids, allowed in zip(remi["train"][0], midigen_shifts):
        low, high = codec.pitch_span(ids)
        kept = np.array([s for s in allowed if low + s >= codec.pitch_low and high + s <= codec.pitch_high], dtype=np.int64)
        dropped += len(allowed) - len(kept)
        remi_shifts.append(kept if len(kept) else np.zeros(1, dtype=np.int64))
    return Sides(midigen, remi, paths, midigen_shifts, remi_shifts, split.sizes(), split.n_families, mismatches, dropped)


def transposition_check(codec: RemiCodec, folder: Path, sides: Sides) -> dict:
    """Token-shifted REMI == REMI of the pitch-shifted MIDI file, on the first train pieces at every allowed shift."""
    checked = equal = 0
    for ids, shifts, path in list(zip(sides.remi["train"][0], sides.remi_shifts, sides.paths["train"]))[:TRANSPOSITION_CHECK_PIECES]:
        for shift in shifts:
            reference = codec.encode_file(folder / path, int(shift))
            mine = codec.transpose(ids, int(shift))
            checked += 1
            equal += len(reference) == len(mine) and bool((reference == mine).all())
    return {"checked": checked, "equal": equal}


def _all_transpositions(bank) -> list[np.ndarray]:
    return [bank.transposed(i, int(s)) for i in range(len(bank)) for s in bank.shifts[i]]


def train_and_score(model, sampler, valid, test, config, device: torch.device, progress=None, label: str = "") -> dict:
    """midigen's training loop for any model with its interface; best-on-validation weights scored on test."""
    model.to(device)
    model.train()
    optimizer = _optimizer(model, config, fused=device.type == "cuda")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    best_bits, best_step, best_state, curve = math.inf, None, None, []
    eval_s, loss_value = 0.0, float("nan")
    start = time.perf_counter()
    for step in range(config.steps):
        x, y = (t.to(device, non_blocking=True) for t in sampler.batch(step))
        loss = optimizer_step(model, model, optimizer, config, step, x, y, autocast)
        done = step + 1
        if done % config.eval_every == 0 or done == config.steps:
            loss_value = float(loss.detach())
            t = time.perf_counter()
            bits = evaluate(model, *valid, device=device).bits_per_note
            eval_s += time.perf_counter() - t
            curve.append({"step": done, "train_loss_nats_per_token": round(loss_value, 4), "valid_bits_per_note": round(bits, 4)})
            if bits < best_bits:
                best_bits, best_step = bits, done
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if progress:
                progress(f"  {label} step {done}/{config.steps}: loss {loss_value:.3f} nats/token, valid {bits:.3f} bits/note")
    train_s = time.perf_counter() - start - eval_s
    model.load_state_dict(best_state)
    t = time.perf_counter()
    scored = evaluate(model, *test, device=device)
    test_s = time.perf_counter() - t
    tokens = config.steps * config.batch_size * config.seq_len
    return {"params": model.num_params(), "steps": config.steps, "best_step": best_step, "valid_bits_per_note": best_bits,
            "test": scored.to_json(), "bits_per_note": scored.bits_per_note, "curve": curve,
            "train_s": train_s, "eval_s": eval_s + test_s, "train_tokens_per_s": tokens / train_s}


def run_corpus(collection: str, quality: QualityConfig, device: torch.device, seed: int, codec: RemiCodec, progress=None) -> dict:
    from transformers import GPT2LMHeadModel

    say = progress or (lambda message: None)
    folder = corpus_dir(collection)
    started = time.perf_counter()
    sides = load_sides(folder, seed, codec)
    say(f"{collection}: split {sides.sizes} ({sides.families} families); {len(sides.note_count_mismatches)} note-count mismatches")
    train_cfg = TrainConfig(size=quality.size, steps=quality.steps, batch_size=quality.batch_size, seq_len=quality.seq_len,
                            eval_every=quality.eval_every, seed=seed, device=str(device)).resolved(fine_tune=False)

    torch.manual_seed(seed)
    ours = MusicTransformer(config_for_size(quality.size, VOCAB.size, quality.seq_len, train_cfg.dropout))
    gpt2_config, gpt2_params = matched_gpt2_config(ours.num_params(), ours.cfg.n_layer, ours.cfg.n_head, codec,
                                                   quality.seq_len, train_cfg.dropout)
    deviation = gpt2_params / ours.num_params() - 1
    if abs(deviation) > PARAM_TOLERANCE:
        raise SystemExit(f"{collection}: GPT-2 has {gpt2_params:,} parameters, midigen {ours.num_params():,} "
                         f"({deviation:+.1%}, more than ±{PARAM_TOLERANCE:.0%}); no fair comparison at this size")
    say(f"{collection}: midigen {ours.num_params():,} parameters, GPT-2 {gpt2_params:,} "
        f"(n_layer {gpt2_config.n_layer}, n_head {gpt2_config.n_head}, n_embd {gpt2_config.n_embd}; {deviation:+.1%})")

    ours_bank = PieceBank(sides.midigen["train"][0])
    remi_bank = RemiBank(codec, sides.remi["train"][0], sides.remi_shifts)
    check = transposition_check(codec, folder, sides)
    if check["equal"] != check["checked"]:
        raise SystemExit(f"{collection}: shifting REMI Pitch tokens differs from tokenizing the shifted MIDI "
                         f"({check['equal']}/{check['checked']} equal); the augmentation would not be the same")

    results = {}
    say(f"{collection}: training midigen ({quality.steps} steps x {quality.tokens_per_step} tokens on {device})")
    sampler = BatchSampler(ours_bank, quality.batch_size, quality.seq_len, seed=seed)
    results["midigen"] = train_and_score(ours, sampler, sides.midigen["valid"], sides.midigen["test"], train_cfg, device,
                                         progress, "midigen")
    del ours

    torch.manual_seed(seed)
    peer = HFCausalLM(GPT2LMHeadModel(gpt2_config), quality.seq_len)
    say(f"{collection}: training HF GPT-2 on REMI (same steps and tokens per step)")
    sampler = BatchSampler(remi_bank, quality.batch_size, quality.seq_len, seed=seed)
    results["gpt2_remi"] = train_and_score(peer, sampler, sides.remi["valid"], sides.remi["test"], train_cfg, device,
                                           progress, "GPT-2")
    results["gpt2_remi"]["shape"] = {"n_layer": gpt2_config.n_layer, "n_head": gpt2_config.n_head, "n_embd": gpt2_config.n_embd}
    del peer

    say(f"{collection}: fitting the order-{train_cfg.ngram_order} n-grams")
    for name, bank, vocab_size, test in (("ngram_midigen", ours_bank, VOCAB.size, sides.midigen["test"]),
                                         ("ngram_remi", remi_bank, codec.size, sides.remi["test"])):
        ngram = NGramModel(vocab_size, order=train_cfg.ngram_order).fit(_all_transpositions(bank))
        scored = ngram_likelihood(ngram, *test)
        results[name] = {"order": train_cfg.ngram_order, "test": scored.to_json(), "bits_per_note": scored.bits_per_note}

    ratio = results["midigen"]["bits_per_note"] / results["gpt2_remi"]["bits_per_note"]
    test_notes = sum(sides.midigen["test"][1])
    return {"collection": collection, "split": sides.sizes, "families": sides.families, "test_notes": test_notes,
            "transpositions": {"midigen_per_piece_mean": float(np.mean([len(s) for s in sides.midigen_shifts])),
                               "remi_dropped_by_pitch_range": sides.remi_shifts_dropped, "token_shift_check": check},
            "note_count_mismatches": sides.note_count_mismatches,
            "tokens_per_note": {"midigen": results["midigen"]["test"]["tokens"] / test_notes,
                                "remi": results["gpt2_remi"]["test"]["tokens"] / test_notes},
            "results": results, "ratio_midigen_over_gpt2": ratio, "goal_met": ratio <= GOAL_RATIO,
            "wall_s": time.perf_counter() - started}


def config_for(device: torch.device) -> QualityConfig:
    """The issue's GPU protocol on a CUDA device, the CPU configuration elsewhere."""
    return CONFIGS["gpu" if device.type == "cuda" else "cpu"]


def run(collections: tuple[str, ...] = COLLECTIONS, quality: QualityConfig | None = None, device: str = "auto",
        seed: int = 0, progress=None) -> dict:
    started = time.perf_counter()
    device = resolve_device(device)
    quality = quality or config_for(device)
    codec = RemiCodec()
    corpora = {c: run_corpus(c, quality, device, seed, codec, progress) for c in collections}
    return {"device": str(device), "torch_threads": torch.get_num_threads(),
            "config": {**asdict(quality), "tokens_per_step": quality.tokens_per_step}, "seed": seed,
            "remi": "MidiTok REMI, TokenizerConfig() (as bench.tokenize_bench), tracks merged, BOS/EOS added",
            "corpora": corpora, "goal": GOAL, "goal_ratio": GOAL_RATIO, "goal_met": all(c["goal_met"] for c in corpora.values()),
            "wall_s": time.perf_counter() - started}


def report(result: dict) -> list[str]:
    c = result["config"]
    lines = [f"quality (test bits/note; {result['device']}, size {c['size']}, {c['steps']} steps x {c['tokens_per_step']} tokens, "
             f"seed {result['seed']}; {result['wall_s'] / 60:.1f} min)", "",
             "| corpus | test pieces / notes | midigen | HF GPT-2 on REMI | ratio | 4-gram midigen | 4-gram REMI "
             "| params midigen / GPT-2 | goal met |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["corpora"].items():
        m, g = r["results"]["midigen"], r["results"]["gpt2_remi"]
        lines.append(f"| {name} | {r['split']['test']} / {r['test_notes']} | {m['bits_per_note']:.3f} | {g['bits_per_note']:.3f} | "
                     f"{r['ratio_midigen_over_gpt2']:.3f}x | {r['results']['ngram_midigen']['bits_per_note']:.3f} | "
                     f"{r['results']['ngram_remi']['bits_per_note']:.3f} | {m['params'] / 1e6:.2f}M / {g['params'] / 1e6:.2f}M | "
                     f"{'yes' if r['goal_met'] else 'no'} |")
    lines += ["", f"goal: {result['goal']} -> {'met' if result['goal_met'] else 'not met'}"]
    for name, r in result["corpora"].items():
        if r["note_count_mismatches"]:
            lines.append(f"{name}: {len(r['note_count_mismatches'])} pieces whose midigen or REMI note count differs from the file's")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=("auto", *CONFIGS), default="auto", help="auto: gpu on a CUDA device, else cpu")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS / "quality.json")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own, one per core)")
    for field in ("size", "steps", "batch_size", "seq_len", "eval_every"):  # overrides of the chosen config (smoke runs)
        parser.add_argument(f"--{field.replace('_', '-')}", type=str if field == "size" else int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    quality = config_for(device) if args.config == "auto" else CONFIGS[args.config]
    overrides = {f: getattr(args, f) for f in ("size", "steps", "batch_size", "seq_len", "eval_every") if getattr(args, f) is not None}
    quality = replace(quality, **overrides)
    result = run(tuple(args.collections.split(",")), quality, str(device), args.seed,
                 progress=lambda message: print(message, file=sys.stderr, flush=True))
    result["command"] = " ".join(["python -m bench.quality_bench", *sys.argv[1:]])
    path = save("quality", result, args.json)
    print("\n".join(report(result)))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
