"""The result of ``midigen eval``: one frozen record, its JSON, its goals, and a plain-text table."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from .bootstrap import Estimate

GOALS = {  # name: (target as text, test of the figure)
    "mean_overlap": (">= 0.85", lambda v: v >= 0.85),
    "intended_style_share": (">= 0.90", lambda v: v >= 0.90),
    "real_vs_generated_accuracy": ("<= 0.70", lambda v: v <= 0.70),
    "shares_32_note_run": ("<= held-out real rate", None),
    "exact_bars_tempo_meter": ("= 1.0", lambda v: v == 1.0),
    "whole_copies": ("= 0", lambda v: v == 0),
}


@dataclass(frozen=True)
class EvalReport:
    style: str
    settings: dict
    corpus: dict
    likelihood: dict | None
    compliance: dict
    distribution: dict
    originality: dict
    style_match: dict
    plots: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    timings_s: dict = field(default_factory=dict)

    @property
    def goals(self) -> dict:
        return goals_of(self)

    def to_json(self) -> dict:
        out = {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}
        out["goals"] = jsonable(self.goals)
        return out


def jsonable(value):
    """Estimates as {value, ci95}; tuples as lists; numpy numbers as Python ones; NaN as None."""
    if isinstance(value, Estimate):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(value) else round(float(value), 4)
    return value


def _value(estimate) -> float | None:
    return estimate.value if isinstance(estimate, Estimate) and math.isfinite(estimate.value) else None


def goals_of(report: EvalReport) -> dict:
    """Each goal of the issue: target, the measured value, and whether it is met (None: not measured)."""
    exact = report.compliance.get("exact", {})
    exact_values = [_value(exact.get(k)) for k in ("bars", "tempo", "meter")]
    generated, held_out = report.originality.get("generated", {}), report.originality.get("held_out", {})
    values = {
        "mean_overlap": _value((report.distribution.get("mean") or {}).get("overlap")),
        "intended_style_share": _value((report.style_match.get("intended") or {}).get("share")),
        "real_vs_generated_accuracy": _value((report.style_match.get("real_vs_generated") or {}).get("accuracy")),
        "shares_32_note_run": _value(generated.get("shares_32")),
        "exact_bars_tempo_meter": None if None in exact_values else min(exact_values),
        "whole_copies": generated.get("whole_copies"),
    }
    out = {}
    for name, (target, test) in GOALS.items():
        value = values[name]
        if name == "shares_32_note_run":
            baseline = _value(held_out.get("shares_32"))
            met = None if value is None or baseline is None else value <= baseline
        else:
            met = None if value is None else bool(test(value))
        out[name] = {"target": target, "value": value, "met": met}
    return out


def _est(x) -> str:
    return x.text() if isinstance(x, Estimate) else "-"


def text_lines(report: EvalReport) -> list[str]:
    """The report as a table for a terminal (every figure with its 95 % interval in brackets)."""
    s, c = report.settings, report.corpus
    how = (f"max-copy {s.get('max_copy') if s.get('max_copy') is not None else 'off'}"
           + (f", each the best of {s['rank']} by style fit" if s.get("rank", 1) > 1 else ""))
    lines = [f"style {report.style}: {s['samples']} samples of {', '.join(map(str, s['bars']))} bars ({how}), seed {s['seed']}; "
             f"corpus {c['label']} ({c['root']}): train {c['train']}, valid {c['valid']}, test {c['test']} pieces",
             "", f"1. Likelihood on the test split  {'bits/note':26s}{'bits/quarter':26s}nats/token"]
    for name, figures in (report.likelihood or {}).items():
        if isinstance(figures, dict):
            lines.append((f"   {name:29s} " + " ".join(f"{_est(figures[k]):25s}" for k in
                                                       ("bits_per_note", "bits_per_quarter", "nats_per_token"))).rstrip())
    comp = report.compliance
    lines += ["", "2. Constraint compliance (read back from the MIDI)"]
    lines += [f"   exact {k:36s} {_est(v)}" for k, v in comp["exact"].items()]
    band = comp.get("in_key_band")
    lines.append(f"   in-key rate                                {_est(comp['in_key_rate'])}   real {_est(comp['in_key_rate_real'])}"
                 + (f"   band [{band[0]:.3f}, {band[1]:.3f}]: {'in' if comp['in_key_in_band'] else 'OUT'}" if band else ""))
    lines.append(f"   key agreement ({comp['key_profile']:9s})                {_est(comp['key_agreement'])}   "
                 f"real {_est(comp['key_agreement_real'])}")
    dist = report.distribution
    lines += ["", f"3. Distribution match: overlap area ({dist.get('reference', '')})",
              f"   {'feature':40s} {'generated':22s} real-vs-real ceiling"]
    for name, pair in dist.get("features", {}).items():
        lines.append(f"   {name:40s} {_est(pair['overlap']):22s} {_est(pair['ceiling'])}")
    if not dist.get("features"):
        lines.append("   not measured (see the note below)")
    if dist.get("mean"):
        lines.append(f"   {'mean':40s} {_est(dist['mean']['overlap']):22s} {_est(dist['mean']['ceiling'])}")
    lines += ["", "4. Originality against the training set     generated              held-out real"]
    gen, real = report.originality.get("generated", {}), report.originality.get("held_out", {})
    for key, label in (("shares_16", "share with a 16-note run"), ("shares_32", "share with a 32-note run")):
        lines.append(f"   {label:40s} {_est(gen.get(key)):22s} {_est(real.get(key))}")
    for key, label in (("longest_run_median", "longest shared run, median (notes)"), ("longest_run_max", "longest shared run, max"),
                       ("whole_copies", "whole-piece copies")):
        lines.append(f"   {label:40s} {str(gen.get(key, '-')):22s} {real.get(key, '-')}")
    sm = report.style_match
    lines += ["", "5. Style"]
    intended = sm.get("intended")
    if intended:
        lines.append(f"   assigned to {report.corpus['label']:30s} {_est(intended['share'])}   "
                     f"(classifier's real CV accuracy {_est(intended['real_cv_accuracy'])}; corpora: "
                     f"{', '.join(f'{k} {v}' for k, v in intended['corpora'].items())})")
    rvg = sm.get("real_vs_generated")
    if rvg:
        lines.append(f"   real vs generated CV accuracy              {_est(rvg['accuracy'])}   ({rvg['pieces_each']} pieces each)")
    lines += ["", "Goals"]
    for name, goal in report.goals.items():
        value = "-" if goal["value"] is None else f"{goal['value']:.3f}" if isinstance(goal["value"], float) else str(goal["value"])
        verdict = {True: "met", False: "NOT met", None: "not measured"}[goal["met"]]
        lines.append(f"   {name:40s} {value:>8s}  target {goal['target']:22s} {verdict}")
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"plot: {p}" for p in report.plots]
    return lines
