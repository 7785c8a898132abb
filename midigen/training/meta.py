"""What a trained bundle says about itself: held-out figures beside an n-gram's, and its ``style.json``.

The n-gram baselines are fitted before training starts (their time is part of a budget's start-up); the
held-out sides are scored once training ends. A run stopped with Ctrl-C is installed unscored: its
``metrics`` hold no sides and ``training.interrupted`` is true.
"""
from __future__ import annotations

import os
import platform
import time

import torch

from ..corpus.stats import CorpusStats
from ..tokens.augment import all_transpositions
from ..tokens.vocab import VOCAB
from .config import TrainConfig
from .likelihood import Likelihood, evaluate_both, ngram_likelihood, pool


def fit_ngrams(corpora: list, config: TrainConfig) -> list:
    """One order-``ngram_order`` n-gram per corpus, fitted on its train side in all its transpositions."""
    from ..model.ngram import NGramModel

    return [NGramModel(VOCAB.size, order=config.ngram_order).fit(all_transpositions(c.side("train")[0], config.transpose))
            for c in corpora]


def corpus_metrics(model, corpus, ngram, config: TrainConfig, device) -> dict:
    """Valid/test likelihood of the model (plain and grammar-masked) beside the corpus's n-gram."""
    metrics = {}
    for side in ("valid", "test"):
        pieces, notes, quarters = corpus.scored_side(side, config.score_pieces)
        if pieces:
            plain, masked = evaluate_both(model, pieces, notes, quarters, device)
            metrics[side] = {
                "model": plain.to_json(),
                "model_grammar_masked": masked.to_json(),
                "ngram": ngram_likelihood(ngram, pieces, notes, quarters).to_json(),
            }
    return metrics


def style_meta(run, outcome, per_corpus: list[dict] | None) -> dict:
    """The bundle's ``style.json`` (before ``install`` adds the model and tokenizer).

    ``run`` and ``outcome`` are ``train``'s records of the run and of how its loop ended. A one-corpus
    bundle keeps ``corpus`` and ``metrics`` for that corpus; a multi-corpus bundle also lists each corpus
    with its Style slot and metrics under ``corpora``, and its ``metrics`` pool them. ``per_corpus`` None:
    not scored (stopped with Ctrl-C), ``metrics.scored`` is false.
    """
    config, corpora = run.config, run.corpora
    scored = per_corpus is not None
    per_corpus = per_corpus if scored else [{} for _ in corpora]
    meta = {
        "name": run.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": run.command,
        "training": {**config.to_dict(), "steps_done": outcome.steps_done, "early_stopped_at": outcome.stopped,
                     "best_step": outcome.best_step, "from_style": run.from_style},
        "hardware": hardware(run.device),
        "corpus": corpora[0].to_json() if len(corpora) == 1 else pooled_corpus(corpora),
        "metrics": {**(per_corpus[0] if len(corpora) == 1 else pooled_metrics(per_corpus)),
                    "ngram_order": config.ngram_order, "unit": "bits per note (NLL of all tokens / notes)"},
    }
    if not scored:
        meta["metrics"]["scored"] = False
    if outcome.budget is not None:  # elapsed: from train_style's start to this bundle, just before it is written
        meta["training"]["budget"] = {**outcome.budget, "elapsed_s": round(time.monotonic() - run.started_s, 1)}
    if outcome.interrupted:
        meta["training"]["interrupted"] = True
    if len(corpora) > 1:
        meta["training"]["style_slot"] = None
        meta["corpora"] = [{**c.to_json(), "metrics": m} for c, m in zip(corpora, per_corpus)]
        if run.inherited_slots:
            meta["inherited_slots"] = run.inherited_slots
        for entry in meta["corpora"]:
            del entry["stats"]["skipped"]  # listed once, in the pooled statistics
    else:
        meta["training"]["style_slot"] = corpora[0].slot
    return meta


def hardware(device: torch.device) -> dict:
    return {"device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
            "cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__}


def pooled_corpus(corpora: list) -> dict:
    records = [r for c in corpora for r in c.dataset.records]
    sizes = {side: sum(len(getattr(c.split, side)) for c in corpora) for side in ("train", "valid", "test")}
    licences = list(dict.fromkeys(c.to_json()["licence"] for c in corpora))
    return {"root": [str(c.root) for c in corpora], "collection": " + ".join(c.label for c in corpora),
            "licence": " | ".join(licences), "pieces": len(records), "split": {"sizes": sizes},
            "stats": CorpusStats.of_datasets([c.dataset for c in corpora]).to_json()}


def pooled_metrics(per_corpus: list[dict]) -> dict:
    out = {}
    for side in ("valid", "test"):
        present = [m[side] for m in per_corpus if side in m]
        if present:
            out[side] = {who: pool([Likelihood(**p[who]) for p in present]).to_json() for who in present[0]}
    return out
