"""``midigen train``: train a style bundle from a folder of music."""
from __future__ import annotations

import os
import shlex
import sys

import click
from tqdm import tqdm

SHOW_SKIPPED = 20  # skipped files listed after training; all of them are in the bundle's style.json


def register(main: click.Group) -> None:
    main.add_command(train)


@click.command()
@click.option("--style", "name", required=True, help="Name of the style bundle to write.")
@click.argument("corpus_dirs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--size", type=click.Choice(["tiny", "small", "base"]), default="small", show_default=True, help="Model size.")
@click.option("--minutes", type=float,
              help="Time budget in minutes, start-up to installed bundle, final scoring included; the steps are planned "
                   "to fill it. Default 10 when neither --steps nor --epochs is given; with one of them, a time limit.")
@click.option("--steps", type=click.IntRange(min=1), help="Optimizer steps (default: as many as --minutes allows).")
@click.option("--epochs", type=click.FloatRange(min=0.01),
              help="Train for this many passes over the train split (sets the steps; not with --steps).")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True, help="Sequences per step.")
@click.option("--seq-len", type=click.IntRange(min=64), default=512, show_default=True, help="Tokens per sequence.")
@click.option("--lr", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Peak learning rate (default 1e-3 from scratch, 3e-4 when fine-tuning).")
@click.option("--dropout", type=click.FloatRange(0, 0.9), default=0.1, show_default=True, help="Dropout.")
@click.option("--eval-every", type=click.IntRange(min=1),
              help="Steps between validations (and checkpoints). Default: 250; when the steps are planned from "
                   "--minutes, about 6 a run.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split, the batches and the init.")
@click.option("--from", "from_style", metavar="STYLE",
              help="Fine-tune this bundle ('none': train from scratch). Default: the shipped 'base' when its size fits.")
@click.option("--score-pieces", type=click.IntRange(min=1),
              help="Validate and score at most N held-out pieces per side and corpus (default: all; under a time "
                   "budget, as many as fit a tenth of it for the validations and a tenth for the final scoring).")
@click.option("--resume", is_flag=True,
              help="Continue the interrupted run of this style from its last checkpoint (without --steps, up to the step "
                   "count that run had).")
@click.option("--styles-dir", type=click.Path(file_okay=False), help="Where to write the bundle (default: the per-user styles folder).")
def train(name, corpus_dirs, size, minutes, steps, epochs, batch_size, seq_len, lr, dropout, eval_every, device, seed,
          from_style, score_pieces, resume, styles_dir) -> None:
    """Train the style NAME from CORPUS_DIRS (MIDI, MusicXML, ABC or kern files) and install its bundle.

    By default it fine-tunes the shipped multi-style 'base' bundle (much better with a few dozen pieces)
    for 10 minutes. Several folders train one multi-style bundle, each folder conditioned on its own Style
    token. Ctrl-C installs the best weights so far and keeps a checkpoint for --resume.

    Example: midigen train --style my-tunes ~/midi/my-tunes --minutes 20
    """
    from ..errors import MidigenError
    from ..training.train import TrainConfig, train_style  # torch loads here, not when the CLI starts

    if steps is not None and epochs is not None:
        raise MidigenError("give --steps or --epochs, not both")
    config = TrainConfig(size=size, steps=steps, minutes=minutes, batch_size=batch_size, seq_len=seq_len, lr=lr,
                         dropout=dropout, eval_every=eval_every, checkpoint_every=eval_every, seed=seed, device=device,
                         score_pieces=score_pieces)  # settings checked before --epochs reads the folders
    if epochs is not None:
        config = TrainConfig(**{**config.to_dict(), "steps": _steps_for_epochs(corpus_dirs, epochs, batch_size, seq_len, seed)})
    command = "midigen " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    bars: list[tqdm] = []  # drawn at the first report, so that an error before training is one line

    def show(p) -> None:
        if not bars:
            bars.append(tqdm(total=p.steps, desc=f"train {name}", unit="step", dynamic_ncols=True,
                             disable=os.environ.get("RANK", "0") != "0"))  # under torchrun only rank 0 draws
        bar = bars[0]
        if p.message:
            bar.write(p.message)
            return
        if p.steps != bar.total:  # a budget run's steps, planned once timed and again at each validation
            bar.total = p.steps
            bar.refresh()
        bar.update(p.step - bar.n)
        postfix = {"loss": f"{p.loss:.3f}", "tok/s": f"{p.tokens_per_s:,.0f}"}
        if p.best_bits_per_note is not None:
            postfix["best val bits/note"] = f"{p.best_bits_per_note:.3f}"
        bar.set_postfix(postfix, refresh=False)
        if p.valid_bits_per_note is not None:
            bar.write(f"step {p.step}: validation {p.valid_bits_per_note:.3f} bits/note")

    interrupted = None
    try:
        meta = train_style(name, list(corpus_dirs), config, styles_dir=styles_dir, from_style=from_style, resume=resume,
                           progress=show, command=command)
    except KeyboardInterrupt as e:
        interrupted = str(e.args[0]) if e.args else "interrupted"
    finally:
        for bar in bars:
            bar.close()
    if interrupted is not None:
        click.echo(interrupted, err=True)
        sys.exit(130)
    if not meta:
        return
    test = meta["metrics"].get("test") or meta["metrics"].get("valid")
    skipped = meta["corpus"]["stats"].get("skipped", [])
    if skipped:
        click.echo(f"skipped {len(skipped)} files that could not be used:")
        for s in skipped[:SHOW_SKIPPED]:
            click.echo(f"  {s['path']}: {s['reason']}")
        if len(skipped) > SHOW_SKIPPED:
            click.echo(f"  ... and {len(skipped) - SHOW_SKIPPED} more (midigen styles show {name} --json)")
    sizes = meta["corpus"]["split"]["sizes"]
    click.echo(f"split: train {sizes['train']}, valid {sizes['valid']}, test {sizes['test']} pieces")
    if test:
        click.echo(f"test bits/note: model {test['model']['bits_per_note']:.3f} "
                   f"(grammar-masked {test['model_grammar_masked']['bits_per_note']:.3f}), "
                   f"{meta['metrics']['ngram_order']}-gram {test['ngram']['bits_per_note']:.3f}")
    for corpus in meta.get("corpora", []):
        m = corpus["metrics"].get("test") or corpus["metrics"].get("valid")
        if m:
            click.echo(f"  Style_{corpus['slot']} {corpus['label']}: model {m['model']['bits_per_note']:.3f}, "
                       f"n-gram {m['ngram']['bits_per_note']:.3f} bits/note")
    timed = meta["training"].get("budget")
    if timed:
        ended = ("stopped at its deadline" if timed["stopped_by_budget"] else "stopped early: validation no longer improving"
                 if meta["training"]["early_stopped_at"] else "schedule completed")
        done = meta["training"]["steps_done"]
        click.echo(f"trained {done:,} step{'' if done == 1 else 's'} ({ended}); {timed['elapsed_s'] / 60:.1f} of "
                   f"{timed['minutes']:g} minutes before writing the bundle")
    click.echo(f"style '{name}' installed ({meta['params'] / 1e6:.2f}M parameters)")


def _steps_for_epochs(corpus_dirs, epochs: float, batch_size: int, seq_len: int, seed: int) -> int:
    from ..training.data import load_corpus

    tokens = sum(load_corpus(d, seed).train_tokens() for d in corpus_dirs)
    return max(1, round(epochs * tokens / (batch_size * seq_len)))
