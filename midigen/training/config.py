"""``TrainConfig``: everything that decides how a style is trained, validated in one place.

A bundle stores it as JSON in ``style.json`` (``to_dict``/``from_dict``), so a run can be read back and
repeated; ``resolved`` decides the defaults that depend on whether the run starts from trained weights,
``planned`` the ones a time budget decides once the step time is measured (``training.budget``).

How long a run is: ``steps`` fixes the schedule; ``minutes`` is a wall-clock budget (start-up to installed
bundle) that plans the steps when ``steps`` is None and cuts the run short when both are set. With
neither, the budget is ``DEFAULT_MINUTES``. A budget run's bundle records both: the steps it planned and
the minutes they were planned for.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from ..errors import MidigenError
from ..model.config import SIZES
from ..tokens.vocab import VOCAB

SCRATCH_LR, FINE_TUNE_LR = 1e-3, 3e-4
DEFAULT_MINUTES = 10.0  # the budget when neither steps nor minutes is given: a CPU run fits a coffee break
EVAL_EVERY_STEPS = 250  # validation interval of a run of fixed steps (a budget run plans its own)
KEEP_CHOICES = ("best", "last")  # the weights a run installs (TrainConfig.keep)
MAX_WARMUP_STEPS = 100  # warm-up is a tenth of the steps, at most this; also the ramp before a budget's plan


def default_warmup(steps: int) -> int:
    return min(MAX_WARMUP_STEPS, max(1, steps // 10))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a style is trained; stored in the bundle's ``style.json``."""

    size: str = "small"
    steps: int | None = None  # None: as many as the time budget allows, planned from measured step time
    minutes: float | None = None  # wall-clock budget, start-up to installed bundle (see the module's doc)
    batch_size: int = 16
    seq_len: int = 512
    lr: float | None = None  # None: 1e-3 from scratch, 3e-4 when fine-tuning (see ``resolved``)
    min_lr_ratio: float = 0.1
    warmup_steps: int | None = None  # None: a tenth of the steps, at most MAX_WARMUP_STEPS
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    dropout: float = 0.1
    eval_every: int | None = None  # None: EVAL_EVERY_STEPS; under a budget, planned (budget.BUDGET_VALIDATIONS a run)
    patience: int | None = 4  # validations without a new best before stopping; None: the whole schedule
    keep: str = "best"  # the weights installed: "best", of the best validation, or "last", of the last step
    checkpoint_every: int | None = None  # None: with every validation
    seed: int = 0
    transpose: bool = True
    device: str = "auto"
    ngram_order: int = 4
    style_slot: int | None = None  # Style token of a one-style bundle; multi-style bundles number their corpora
    infill_share: float = 0.4  # pieces drawn in the infill form (a span moved behind Hole/Fill): `midigen infill`
    # Held-out pieces per side and corpus, validated during training and scored once it ends (None: all).
    # Scoring is one batched model pass over a piece's half-overlapping windows plus a Python grammar walk
    # per token (the masked figure): over a band base's 580 held-out MMA songs (~5,000 tokens each) it took
    # longer than its 400 training steps on the 2-core CPU.
    score_pieces: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.size not in SIZES:
            problems.append(f"size must be one of {', '.join(SIZES)}")
        for name in ("steps", "batch_size", "seq_len", "eval_every", "checkpoint_every", "patience", "ngram_order"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be at least 1")
        if self.minutes is not None and not (isinstance(self.minutes, (int, float)) and 0 < self.minutes < math.inf):
            problems.append("minutes must be a number of minutes above 0")
        if self.keep not in KEEP_CHOICES:
            problems.append(f"keep must be one of {', '.join(KEEP_CHOICES)}")
        if self.seq_len < 64:
            problems.append("seq_len must be at least 64")
        if self.lr is not None and not 0 < self.lr < 1:
            problems.append("lr must be in (0, 1)")
        if not 0 <= self.dropout < 1:
            problems.append("dropout must be in [0, 1)")
        if not 0 <= self.infill_share <= 1:
            problems.append("infill_share must be in [0, 1]")
        if self.score_pieces is not None and self.score_pieces < 1:
            problems.append("score_pieces must be at least 1")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            problems.append("warmup_steps must be >= 0")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            problems.append("device must be auto, cpu or cuda")
        if self.style_slot is not None and not 0 <= self.style_slot < VOCAB.family_sizes["Style"]:
            problems.append(f"style_slot must be in 0..{VOCAB.family_sizes['Style'] - 1}")
        if problems:
            raise MidigenError("bad training settings: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def budget_minutes(self) -> float | None:
        """The wall-clock budget of the run: ``minutes``, else ``DEFAULT_MINUTES`` when no steps are given."""
        if self.minutes is not None:
            return float(self.minutes)
        return DEFAULT_MINUTES if self.steps is None else None

    def resolved(self, fine_tune: bool) -> TrainConfig:
        """The config with its defaults decided: a gentler peak rate when starting from trained weights.

        Without ``steps`` the warm-up and the validation interval stay None until ``planned``.
        """
        lr = self.lr if self.lr is not None else (FINE_TUNE_LR if fine_tune else SCRATCH_LR)
        config = replace(self, lr=lr)
        return config if self.steps is None else config.planned(self.steps, self.eval_every or EVAL_EVERY_STEPS)

    def planned(self, steps: int, eval_every: int) -> TrainConfig:
        """The config for a run of ``steps`` steps validated every ``eval_every``: the warm-up (unless set)
        and the checkpoint interval (unless set) follow from them."""
        warmup = self.warmup_steps if self.warmup_steps is not None else default_warmup(steps)
        return replace(self, steps=steps, warmup_steps=warmup, eval_every=eval_every,
                       checkpoint_every=self.checkpoint_every or eval_every)

    def lr_at(self, step: int) -> float:
        """Warm-up, then cosine decay to ``min_lr_ratio`` at the last step. Before a budget run's steps are
        planned, the ramp is the longest warm-up's (``MAX_WARMUP_STEPS``), held at the peak if it ends."""
        warmup = self.warmup_steps if self.warmup_steps is not None else MAX_WARMUP_STEPS
        if step < warmup:
            return self.lr * (step + 1) / warmup
        if self.steps is None:
            return self.lr
        progress = min(1.0, (step - warmup) / max(1, self.steps - warmup))
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
