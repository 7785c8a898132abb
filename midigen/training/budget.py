"""Training to a time budget (``train --minutes N``): steps planned so that the run ends on time.

The budget runs from ``train_style``'s start to the installed bundle. What comes before the first step
(reading the corpus, loading the base, fitting the n-gram baselines) is spent as it happens. A probe times
the model scoring a held-out piece: from it the held-out sample (``score_pieces``, unless given) is sized
so that the validations take about ``VALIDATION_SHARE`` of the budget and the final scoring about
``SCORING_SHARE``, and the final scoring's time is set aside. The first steps are timed, then the step
count is fixed so that the learning-rate schedule (warm-up, cosine decay) ends when the time for training
does; every validation plans the rest again from the times measured so far, and a run that still falls
behind stops at its deadline, validated first. A GPU's faster steps plan more of them in the same minutes.

Under torchrun rank 0 measures and decides; the other ranks receive its plan at every step.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from . import distributed as dist
from .config import TrainConfig
from .likelihood import evaluate_both, windows

CALIBRATION_STEPS = 4  # steps timed before the plan, after the first one (which pays one-off costs)
BUDGET_VALIDATIONS = 6  # validations a budget run plans for (early stopping needs a few)
VALIDATION_SHARE = 0.10  # of the budget, for all validations together: sizes score_pieces
SCORING_SHARE = 0.10  # of the budget, for the final scoring of the valid and test sides
INSTALL_S = 2.0  # loading the best weights and writing the bundle
PROBE_TOKENS = 2048  # tokens of a held-out piece timed to estimate the scoring
MANY_PASSES = 20  # past this many passes over the train side the quality note speaks of over-fitting

# Measured figures (styles/README.md; `small` size, 2-core CPU, 8 x 512 tokens a step) for the quality note.
MEASURED = {
    "fine-tune": "150 steps x 4,096 tokens (0.6M tokens) from base put the shipped folk styles 0.15-0.5 "
                 "bits/note below the base on their own corpus, and 20 Palestrina pieces at 7.67 bits/note "
                 "(9.36 from scratch)",
    "scratch": "1,500 steps x 4,096 tokens (6.1M tokens) from scratch gave the shipped base 4.1-5.6 bits/note "
               "on its five corpora, still improving at the last step",
}


def train_tokens(corpora: list) -> int:
    return sum(c.train_tokens() for c in corpora)


def data_line(corpora: list, config: TrainConfig) -> str:
    """Data size and what bounds the run, said before anything is trained."""
    sizes = {side: sum(len(getattr(c.split, side)) for c in corpora) for side in ("train", "valid", "test")}
    minutes = config.budget_minutes
    bound = f"{config.steps:,} steps" if config.steps is not None else ""
    if minutes is not None:
        bound += (", at most " if bound else "") + f"{minutes:g} min from start to installed bundle"
    return (f"data: {sum(sizes.values()):,} pieces (train {sizes['train']:,}, valid {sizes['valid']:,}, test {sizes['test']:,}), "
            f"{count(train_tokens(corpora))} train tokens; budget: {bound}")


def count(n: float) -> str:
    """1,234 / 56.7k / 1.2M"""
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e4 else f"{n:,.0f}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def plan_line(config: TrainConfig, world: int, corpora: list, step_s: float | None, device) -> str:
    tokens = config.steps * config.batch_size * config.seq_len * world
    timing = f" ({step_s:.3g} s a step on {device})" if step_s else ""
    every = "every step" if config.eval_every == 1 else f"every {config.eval_every:,} steps"
    return (f"plan: {plural(config.steps, 'step')} x {config.batch_size * config.seq_len * world:,} tokens{timing}: "
            f"{count(tokens)} tokens, {tokens / max(train_tokens(corpora), 1):.1f} passes over the train side; "
            f"validating {every}")


def quality_line(config: TrainConfig, world: int, corpora: list, fine_tune: bool) -> str:
    """What the planned tokens amount to, beside the closest measured figure (never a prediction)."""
    passes = config.steps * config.batch_size * config.seq_len * world / max(train_tokens(corpora), 1)
    if passes < 1:
        how = f"{passes:.2f} of a pass over the train side: some pieces are never seen (more minutes, or a GPU, would see them all)"
    elif passes > MANY_PASSES:
        how = f"{passes:.0f} passes over a small train side: over-fitting is likely, the weights kept are the best on validation"
    else:
        how = f"{passes:.1f} passes over the train side"
    return f"expected quality: {how}; for scale, measured: {MEASURED['fine-tune' if fine_tune else 'scratch']}"


def scoring_work(lengths: list[int], window: int) -> int:
    """Tokens the model reads to score pieces of these lengths: a long piece is read in half-overlapping
    windows (``likelihood.windows``), so it costs up to twice its length."""
    return sum(end - start for n in lengths for start, end, _ in windows(n, window))


def probe_s_per_token(model, corpora: list, device) -> float:
    """Seconds per token the model reads to score held-out pieces (plain and grammar-masked), timed on
    the start of one piece."""
    holders = [c for c in corpora if c.split.valid] or corpora
    side = "valid" if holders[0].split.valid else "train"
    ids = holders[0].scored_side(side, 1)[0][0][:PROBE_TOKENS]
    evaluate_both(model, [ids[:64]], [1], [1.0], device)  # the first call pays one-off costs
    start = time.perf_counter()
    evaluate_both(model, [ids], [1], [1.0], device)
    return (time.perf_counter() - start) / max(scoring_work([len(ids)], model.cfg.max_seq_len), 1)


def scoring_s(corpora: list, limit: int | None, s_per_token: float, window: int) -> tuple[float, float]:
    """(seconds of one validation, seconds of the final scoring of valid and test) for ``limit`` pieces."""
    validation = sum(scoring_work(c.validation_lengths(limit), window) for c in corpora) * s_per_token
    final = sum(scoring_work(c.scored_lengths("valid", limit) + c.scored_lengths("test", limit), window)
                for c in corpora) * s_per_token
    return validation, final


def choose_score_pieces(corpora: list, budget_s: float, s_per_token: float, window: int) -> int | None:
    """The most held-out pieces per side and corpus whose validations and final scoring each fit their
    share of the budget (None: all of them fit; at least 1)."""
    def fits(limit: int | None) -> bool:
        validation, final = scoring_s(corpora, limit, s_per_token, window)
        return BUDGET_VALIDATIONS * validation <= VALIDATION_SHARE * budget_s and final <= SCORING_SHARE * budget_s

    largest = max(len(getattr(c.split, side)) for c in corpora for side in ("valid", "test"))
    if fits(None):
        return None
    low, high = 1, largest
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def steps_that_fit(done: int, left_s: float, step_s: float, validation_s: float, eval_every: int) -> int:
    """The step count to plan at step ``done``: the steps, with their validations every ``eval_every``,
    that fit in ``left_s`` seconds (the last validation's time is already set aside)."""
    return done + max(0, int(left_s / (step_s + validation_s / eval_every)))


class Schedule:
    """How many steps a run takes, when it validates, and whether it must stop now for time.

    ``config.steps`` given: that schedule, cut at ``deadline_s`` when there is one (a budget with steps).
    Otherwise the steps are planned after ``CALIBRATION_STEPS`` timed steps and again at every validation.
    ``deadline_s`` (``time.monotonic``) is when the steps must end: the last validation comes after it
    (the caller sets its time aside), then the final scoring.
    """

    def __init__(self, config: TrainConfig, *, deadline_s: float | None, validation_s: float, world: int, device,
                 say: Callable[[str], object], plan_lines: Callable[[TrainConfig, float | None], list[str]]):
        self.config = config
        self.deadline_s = deadline_s
        self.validation_s = validation_s  # one validation with its checkpoint: estimated, then the last measured
        self.planning = config.steps is None
        self.planned_steps = config.steps  # the first plan, recorded in the bundle
        self.stopped_by_budget = False
        self.world, self.device, self.say, self.plan_lines = world, device, say, plan_lines
        self.times: list[float] = []  # step durations since the last plan (the first step of a process left out)
        self.step_s: float | None = None  # the pace the last plan assumed
        self.first_s: float | None = None  # this process's first step
        self.shared = deadline_s is not None or self.planning  # under torchrun, whether rank 0's plan is sent
        if not self.planning:
            self._announce(None)

    def finished(self, step: int) -> bool:
        return self.config.steps is not None and step >= self.config.steps

    def validates_at(self, done: int) -> bool:
        every = self.config.eval_every
        return every is not None and (done % every == 0 or done == self.config.steps)

    def stepped(self, done: int, duration_s: float, rank: int) -> bool:
        """Record a step's time; plan when calibrated; True when the run must stop now for time."""
        if self.first_s is None:
            self.first_s = duration_s  # the pace only until others are timed: it pays one-off costs
        else:
            self.times.append(duration_s)
        late = False
        if rank == 0:
            now = time.monotonic()
            if self.planning and self.config.steps is None and (len(self.times) >= CALIBRATION_STEPS or self._late(now)):
                self._plan(done, now)
            late = self._late(now) and not self.finished(done)
        late = self._share(late)
        self.stopped_by_budget = self.stopped_by_budget or late
        return late

    def validated(self, done: int, duration_s: float, rank: int) -> None:
        """A validation's measured time; a planned run plans its remaining steps again."""
        self.validation_s = duration_s
        if rank == 0 and self.planning and self.config.steps is not None and not (self.finished(done) or self.stopped_by_budget):
            self._plan(done, time.monotonic())
        self._share(False)

    def record(self) -> dict | None:
        if self.deadline_s is None:
            return None
        return {"minutes": self.config.minutes, "planned_steps": self.planned_steps, "step_s": self.step_s,
                "stopped_by_budget": self.stopped_by_budget}

    def _pace(self) -> float:
        return float(np.mean(self.times)) if self.times else (self.step_s or self.first_s or 0.0)

    def _late(self, now: float) -> bool:
        return self.deadline_s is not None and now + self._pace() > self.deadline_s

    def _plan(self, done: int, now: float) -> None:
        self.step_s = max(self._pace(), 1e-6)
        left_s = self.deadline_s - now
        if self.config.steps is None:  # the first plan: validation interval and warm-up are fixed here
            every = self.config.eval_every or max(1, math.ceil(left_s / self.step_s / BUDGET_VALIDATIONS))
            self.config = self.config.planned(steps_that_fit(done, left_s, self.step_s, self.validation_s, every), every)
            self.planned_steps = self.config.steps
            self._announce(self.step_s)
        else:
            steps = steps_that_fit(done, left_s, self.step_s, self.validation_s, self.config.eval_every)
            self.config = replace(self.config, steps=max(steps, done))
        self.times = []

    def _announce(self, step_s: float | None) -> None:
        for line in self.plan_lines(self.config, step_s):
            self.say(line)

    def _share(self, late: bool) -> bool:
        """Rank 0's plan and stop decision, on every rank (a no-op for one process)."""
        if self.world <= 1 or not self.shared:
            return late
        c = self.config
        steps, every, warmup, late = dist.broadcast_ints(
            [c.steps or 0, c.eval_every or 0, -1 if c.warmup_steps is None else c.warmup_steps, int(late)],
            self.device, self.world)
        if steps:
            self.config = replace(c, steps=steps, eval_every=every, warmup_steps=warmup,
                                  checkpoint_every=c.checkpoint_every or every)
        return bool(late)
