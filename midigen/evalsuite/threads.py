"""One torch thread for the many small products evaluation does (scoring, sampling, classifier fits).

On a CPU a second thread costs more in hand-offs than it saves for products this small, as ``sample``
also finds; on a busy 2-core machine two threads were measured 3.5x (scoring) to 70x (classifier
steps, OpenBLAS) slower than one. The setting is restored on exit.
"""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def one_torch_thread(enabled: bool = True):
    import torch

    before = torch.get_num_threads()
    if enabled:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
