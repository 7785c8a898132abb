"""Fuzz the MIDI reader: mutated, truncated, huge and absurd files, each read in a separate worker process.

    python -m bench.fuzz --files 10000 --seed 0 [--corpus DIR] [--json]

Every file goes to ``midigen.midi.files.read_midi`` in a pool of worker processes, so that a segfault in
symusic's C++ parser costs one worker (counted as a crash) rather than the fuzzer. Outcomes: *loaded*;
*rejected* (a ``MidigenError`` whose message starts with the file name); *crashed* (any other exception,
a dead worker, a file slower than ``--timeout-s``, or an allocation over the workers' memory limit).
Crashing inputs are saved to ``bench/results/fuzz-crashes/`` and the exit code is 1 if there was one.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from bench.fuzz_inputs import SPECIALS, mutate, seed_files

CRASH_DIR = Path(__file__).resolve().parent / "results" / "fuzz-crashes"
WORKER_MEMORY_BYTES = 3 * 2**30  # address-space limit of a worker: a runaway allocation fails, not the machine
READER = "midigen.midi.files:read_midi"  # what the workers call, as module:function (tests swap in a crashing one)


@dataclass
class Case:
    name: str  # the file name the reader sees, and the one a crash is saved under
    data: bytes
    mutators: str  # what made it ("special" for hand-made files)
    on_disk: bool = False  # read from a file (size checked before reading) rather than from bytes


@dataclass
class Result:
    name: str
    mutators: str
    outcome: str  # loaded, rejected or crashed
    message: str
    seconds: float
    rss_mb: float | None  # the worker's peak resident memory so far (None if it died)


# ---- the worker ---------------------------------------------------------------------------------

def _worker_main(conn: Connection, memory_limit_bytes: int, reader: str) -> None:
    """Read files sent as (label, bytes or path) until None; reply (outcome, message, seconds, peak RSS MB)."""
    import importlib

    from midigen.errors import MidigenError

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfault is counted, not dumped
    module, function = reader.split(":")
    read_midi = getattr(importlib.import_module(module), function)
    conn.send("ready")  # the per-file clock starts after this: a slow import on a loaded machine is no timeout

    while True:
        job = conn.recv()
        if job is None:
            return
        label, payload = job
        name, data = (label, payload) if isinstance(payload, bytes) else (payload, None)
        start = time.perf_counter()
        try:
            read_midi(name, data=data)
            outcome, message = "loaded", ""
        except MidigenError as e:
            message = str(e)
            outcome = "rejected" if message.startswith(name) else "crashed"
        except Exception as e:  # the fuzz boundary: any other exception from any file is a finding, not our failure
            outcome, message = "crashed", f"{type(e).__name__}: {e}"
        seconds = time.perf_counter() - start
        conn.send((outcome, message[:300], seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


WORKER_STARTUP_S = 120  # spawning a worker imports numpy and midigen: seconds on a busy 2-core machine


class _Worker:
    def __init__(self, context, memory_limit_bytes: int, reader: str):
        self.context, self.memory_limit_bytes, self.reader = context, memory_limit_bytes, reader
        self.case: Case | None = None
        self.started = self.deadline = 0.0
        self._spawn()

    def _spawn(self) -> None:
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=_worker_main, args=(child, self.memory_limit_bytes, self.reader),
                                            daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(WORKER_STARTUP_S) or self.conn.recv() != "ready":
            raise RuntimeError(f"a reader worker did not start within {WORKER_STARTUP_S} s")

    def restart(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        self._spawn()

    def send(self, case: Case, payload: bytes | str, timeout_s: float) -> None:
        self.case, self.started = case, time.monotonic()
        self.deadline = self.started + timeout_s
        try:
            self.conn.send((case.name, payload))
        except OSError:  # the worker died between files (it cannot have been this file): start another
            self.restart()
            self.conn.send((case.name, payload))

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def read_all(cases: Iterable[Case], *, workers: int = 2, timeout_s: float = 10.0,
             memory_limit_bytes: int = WORKER_MEMORY_BYTES, reader: str = READER) -> Iterator[Result]:
    """Read every case in a pool of worker processes; a dead or hung worker is replaced, its file a crash."""
    context = multiprocessing.get_context("spawn")
    pool = [_Worker(context, memory_limit_bytes, reader) for _ in range(workers)]
    pending = iter(cases)
    with tempfile.TemporaryDirectory(prefix="midigen-fuzz-") as tmp:
        try:
            exhausted = False
            while True:
                for worker in pool:
                    if worker.case is None and not exhausted:
                        case = next(pending, None)
                        exhausted = case is None
                        if case is not None:
                            worker.send(case, _payload(case, Path(tmp)), timeout_s)
                busy = [w for w in pool if w.case is not None]
                if not busy:
                    return
                ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - time.monotonic()))
                for worker in busy:
                    result = _collect(worker, ready)
                    if result is not None:
                        worker.case = None
                        yield result
        finally:
            for worker in pool:
                worker.close()


def _payload(case: Case, tmp: Path) -> bytes | str:
    if not case.on_disk:
        return case.data
    path = tmp / case.name
    path.write_bytes(case.data)
    return str(path)


def _collect(worker: _Worker, ready: list) -> Result | None:
    case = worker.case
    if worker.conn in ready:
        try:
            outcome, message, seconds, rss_mb = worker.conn.recv()
            return Result(case.name, case.mutators, outcome, message, seconds, rss_mb)
        except (EOFError, OSError):
            worker.process.join()
            code = worker.process.exitcode
            message = f"worker killed by {signal.Signals(-code).name}" if code and code < 0 else f"worker exited with status {code}"
    elif time.monotonic() > worker.deadline:
        message = "timeout: still reading after the time limit"
    else:
        return None
    worker.restart()
    return Result(case.name, case.mutators, "crashed", message, time.monotonic() - worker.started, None)


# ---- the run ------------------------------------------------------------------------------------

def make_cases(n_files: int, seed: int, seeds: list[bytes], huge: bool = True) -> Iterator[Case]:
    """The hand-made files first (the oversize ones also from disk), then random mutations of ``seeds``."""
    from midigen.midi.files import MAX_FILE_BYTES

    count = 0
    for name, build in (SPECIALS.items() if huge else ()):
        data = build()
        for on_disk in (False, True) if len(data) > MAX_FILE_BYTES else (False,):
            if count < n_files:
                count += 1
                yield Case(f"{name}{'-on-disk' if on_disk else ''}.mid", data, "special", on_disk)
    for i in range(count, n_files):
        rng = random.Random(seed * 1_000_003 + i)  # each file is reproducible from (seed, index) alone
        mutators, data = mutate(seeds, rng)
        yield Case(f"{i:05d}-{mutators}.mid", data, mutators)


@dataclass
class FuzzReport:
    tried: int = 0
    loaded: int = 0
    rejected: int = 0
    crashed: int = 0
    slowest_s: float = 0.0
    slowest_file: str = ""
    peak_rss_mb: float = 0.0
    peak_rss_file: str = ""
    wall_s: float = 0.0
    crashes: list[dict] = field(default_factory=list)
    specials: list[dict] = field(default_factory=list)
    by_mutator: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, result: Result) -> None:
        self.tried += 1
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)
        if result.seconds > self.slowest_s:
            self.slowest_s, self.slowest_file = result.seconds, result.name
        if result.rss_mb is not None and result.rss_mb > self.peak_rss_mb:
            self.peak_rss_mb, self.peak_rss_file = result.rss_mb, result.name
        if result.outcome == "crashed":
            self.crashes.append(asdict(result))
        if result.mutators == "special":
            self.specials.append({"file": result.name, "outcome": result.outcome, "seconds": round(result.seconds, 3),
                                  "message": result.message})
        for name in result.mutators.split("+"):
            counts = self.by_mutator.setdefault(name, {"loaded": 0, "rejected": 0, "crashed": 0})
            counts[result.outcome] += 1


def run_fuzz(n_files: int, seed: int = 0, corpus: Path | None = None, *, huge: bool = True, workers: int = 2,
             timeout_s: float = 10.0, crash_dir: Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> FuzzReport:
    """Fuzz ``read_midi`` with ``n_files`` files; crashing inputs are written to ``crash_dir`` if given."""
    report = FuzzReport()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="midigen-fuzz-seeds-") as work:
        seeds = [data for _, data in seed_files(corpus, Path(work))]
    if not seeds:
        raise ValueError(f"no MIDI files to mutate in {corpus}")
    cases = {}

    def remembered() -> Iterator[Case]:  # keep each case until its result is in, to save it if it crashed
        for case in make_cases(n_files, seed, seeds, huge):
            cases[case.name] = case
            yield case

    for result in read_all(remembered(), workers=workers, timeout_s=timeout_s):
        report.add(result)
        case = cases.pop(result.name)
        if result.outcome == "crashed" and crash_dir is not None:
            crash_dir.mkdir(parents=True, exist_ok=True)
            (crash_dir / case.name).write_bytes(case.data)
            (crash_dir / f"{case.name}.txt").write_text(f"{result.message}\n")
        if progress:
            progress(report.tried, n_files)
    report.wall_s = time.perf_counter() - start
    return report


def summary_lines(report: FuzzReport) -> list[str]:
    lines = [f"fuzz: {report.tried} files in {report.wall_s:.0f} s: {report.loaded} loaded, {report.rejected} rejected, "
             f"{report.crashed} crashed",
             f"  slowest file {report.slowest_s:.3f} s ({report.slowest_file}); peak worker RSS "
             f"{report.peak_rss_mb:.0f} MB ({report.peak_rss_file})"]
    lines += [f"  {s['file']}: {s['outcome']} in {s['seconds']:.3f} s {s['message'][:110]}" for s in report.specials]
    lines += [f"  CRASH {c['name']}: {c['message'][:150]}" for c in report.crashes[:20]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="How many files to try.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the mutations.")
    parser.add_argument("--corpus", type=Path, help="MIDI files to mutate (default: tests/golden + music21 exports).")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes.")
    parser.add_argument("--timeout-s", type=float, default=10.0, help="Per-file time limit.")
    parser.add_argument("--no-huge", action="store_true", help="Skip the 100 MB / 10M-note / near-limit files.")
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    args = parser.parse_args()

    def progress(done: int, total: int) -> None:
        if done % 1000 == 0 or done == total:
            print(f"  {done}/{total}", file=sys.stderr, flush=True)

    report = run_fuzz(args.files, args.seed, args.corpus, huge=not args.no_huge, workers=args.workers,
                      timeout_s=args.timeout_s, crash_dir=CRASH_DIR, progress=progress)
    from bench.common import save

    command = "python -m bench.fuzz " + " ".join(sys.argv[1:])
    save("fuzz", {"command": command, **asdict(report)})
    print(json.dumps(asdict(report), indent=1) if args.json else "\n".join(summary_lines(report)))
    sys.exit(1 if report.crashed else 0)


if __name__ == "__main__":
    main()
