"""The package's layering, read from the source: which subpackage may import which.

Data flows corpus files -> corpus -> tokens -> training -> styles -> sampling -> tasks -> MIDI files, and
each layer may only reach *down* that flow. Checked with ``ast`` rather than by importing, so that an
import inside a function (where the lazy ones live) counts as much as one at the top of a module, and a
violation is named by file and line. The rules are one table, ``ALLOWED``; a new subpackage has to be
given a row before this test passes, which is the moment to decide where it sits.

Also: only the CLI talks to ``click``, and library code never calls ``print()`` (it returns or reports
through a callback; the CLI decides what reaches the terminal).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "midigen"

# Unit -> the units it may import (its own modules always). A unit is a subpackage, a top-level module,
# or "__init__" (midigen/__init__.py, which holds __version__ and must import nothing). As strict as the
# code is: a unit that does not import a lower layer today is not allowed to start without editing this.
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "errors": set(),
    "fsutil": {"errors"},
    "music": {"errors"},  # notes, keys, chords: no tokens, no files
    "model": set(),  # pure numerics: raises ValueError, callers word it for the user
    "midi": {"errors", "fsutil", "music"},
    "tokens": {"errors", "music"},
    "media": {"errors", "fsutil", "music", "midi"},
    "corpus": {"errors", "fsutil", "music", "midi", "tokens"},
    "sampling": {"errors", "music", "tokens", "model"},
    "styles": {"__init__", "errors", "fsutil", "music", "midi", "tokens", "model"},
    "training": {"errors", "fsutil", "music", "tokens", "model", "corpus", "styles"},
    "tasks": {"__init__", "errors", "fsutil", "music", "midi", "tokens", "sampling", "styles"},
    "evalsuite": {"errors", "fsutil", "music", "midi", "tokens", "model", "corpus", "styles", "training", "tasks",
                  "media"},
    # the studio web server: a thin layer over tasks, styles and media, beside evalsuite; only the CLI starts it
    "serve": {"__init__", "errors", "fsutil", "music", "midi", "styles", "tasks", "media"},
    "cli": {"__init__", "errors", "music", "midi", "corpus", "styles", "training", "tasks", "media", "evalsuite", "serve"},
    "__main__": {"cli"},
}
SHELL = {"cli", "__main__"}  # the only units that may use click or print()


def unit_of(path: Path) -> str:
    """The unit a file belongs to, from its path relative to the package folder."""
    return path.parts[0] if len(path.parts) > 1 else path.stem


def imported_names(tree: ast.AST, path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) for every import anywhere in the module, relative ones resolved.

    ``from X import a, b`` yields ``X.a`` and ``X.b``: when X is a package, a and b may be its submodules.
    """
    package = ["midigen", *path.with_suffix("").parts[:-1]]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + (node.module.split(".") if node.module else []))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def target_unit(name: str) -> str | None:
    """The midigen unit an absolute import name lands in; None outside midigen."""
    parts = name.split(".")
    if parts[0] != "midigen":
        return None
    if len(parts) == 1 or parts[1] not in ALLOWED:  # `import midigen`, `from midigen import __version__`
        return "__init__"
    return parts[1]


def check_source(source: str, path: Path) -> list[str]:
    """Every rule ``source`` (the file at ``path``, relative to midigen/) breaks, as "file:line: why"."""
    tree = ast.parse(source, filename=str(path))
    unit = unit_of(path)
    where = f"midigen/{path.as_posix()}"
    found: dict[tuple[int, str], str] = {}  # by (line, what): `from x import a, b` is one line to fix
    for line, name in imported_names(tree, path):
        target = target_unit(name)
        if target is not None and target != unit and target not in ALLOWED.get(unit, set()):
            found.setdefault((line, target), f"{where}:{line}: {unit} imports {target} ({name}); "
                                             f"{unit} may import only {sorted(ALLOWED.get(unit, set()))}")
        if name.split(".")[0] == "click" and unit not in SHELL:
            found.setdefault((line, "click"), f"{where}:{line}: imports click outside midigen/cli")
    problems = list(found.values())
    if unit not in SHELL:
        problems += [f"{where}:{node.lineno}: calls print() in library code" for node in ast.walk(tree)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]
    return problems


def package_files() -> list[Path]:
    return sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py"))


def test_every_unit_has_a_row_and_rows_name_real_units():
    units = {unit_of(p) for p in package_files()}
    assert units - ALLOWED.keys() == set(), "new units: give them a row in ALLOWED"
    assert ALLOWED.keys() - units == set(), "rows for units that no longer exist"
    for unit, allowed in ALLOWED.items():
        assert allowed <= ALLOWED.keys() - {unit}, unit


def test_the_table_is_a_layered_order():
    """No cycle: every unit can be placed above everything it may import."""
    placed: list[str] = []
    remaining = dict(ALLOWED)
    while remaining:
        ready = [u for u, allowed in remaining.items() if allowed <= set(placed)]
        assert ready, f"cycle among {sorted(remaining)}"
        placed += sorted(ready)
        for u in ready:
            del remaining[u]


def test_the_package_keeps_its_layers():
    problems = [p for path in package_files() for p in check_source((PACKAGE / path).read_text(), path)]
    assert not problems, "\n".join(problems)


def test_the_checker_reports_what_breaks_a_rule():
    """The checks can fail: a synthetic module that breaks each rule once is reported at each line."""
    source = "\n".join([
        "from ..errors import MidigenError",  # 1: allowed
        "from .keys import KEYS",  # 2: own unit
        "def f():",
        "    from ..tokens.vocab import VOCAB",  # 4: music -> tokens, inside a function
        "    import midigen.cli",  # 5: absolute, upward
        "    from midigen import training",  # 6: a subpackage named in the import list
        "    import click",  # 7: click outside the CLI
        "    print(VOCAB)",  # 8: print in library code
        "from .. import fsutil",  # 9: music writes no files
    ])
    problems = check_source(source, Path("music/piece.py"))
    lines = sorted(int(p.split(":")[1]) for p in problems)
    assert lines == [4, 5, 6, 7, 8, 9], problems
    assert any("music imports tokens" in p for p in problems)


def test_relative_imports_resolve_from_the_module_s_package():
    tree = ast.parse("from . import vocab\nfrom .. import __version__\nfrom .grammar import check\n")
    assert [n for _, n in imported_names(tree, Path("tokens/__init__.py"))] == [
        "midigen.tokens.vocab", "midigen.__version__", "midigen.tokens.grammar.check"]
    assert [n for _, n in imported_names(tree, Path("tokens/augment.py"))] == [
        "midigen.tokens.vocab", "midigen.__version__", "midigen.tokens.grammar.check"]
    assert target_unit("midigen.__version__") == "__init__"
    assert check_source("from . import errors\nprint(1)\n", Path("cli/x.py")) == []
    assert check_source("from .. import __version__\n", Path("styles/bundle.py")) == []
    assert check_source("from .. import __version__\n", Path("model/config.py")) != []
