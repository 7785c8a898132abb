"""Where style bundles live, and safe style names.

Bundles are searched in order: an explicit ``--styles-dir``, the project's ``styles/`` folder, the
folders in ``$MIDIGEN_STYLES`` (separated like PATH), then the per-user folder
(``$MIDIGEN_USER_STYLES`` or ``~/.local/share/midigen/styles``), which is where ``train`` writes by
default. A name is a plain word, so no name can address a path outside these folders.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import MidigenError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PROJECT_STYLES = Path(__file__).resolve().parents[2] / "styles"  # midigen/styles/registry.py -> the checkout's styles/


def check_name(name: str) -> str:
    """The name itself if it is a valid style name; MidigenError otherwise."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise MidigenError(
            f"invalid style name {name!r}: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def user_styles_dir() -> Path:
    env = os.environ.get("MIDIGEN_USER_STYLES")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "midigen" / "styles"


def search_path(styles_dir: str | Path | None = None) -> list[Path]:
    dirs = [Path(styles_dir)] if styles_dir else []
    dirs.append(PROJECT_STYLES)
    dirs += [Path(p) for p in os.environ.get("MIDIGEN_STYLES", "").split(os.pathsep) if p]
    dirs.append(user_styles_dir())
    seen, out = set(), []
    for d in dirs:
        key = d.resolve()
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _recover(folder: Path, name: str) -> None:
    """Finish a bundle swap that was killed between its two renames (see ``bundle.install``)."""
    old = folder / f".{name}.old"
    if not (folder / name).exists() and old.is_dir():
        os.replace(old, folder / name)


def find_style(name: str, styles_dir: str | Path | None = None) -> Path:
    """The folder of the first bundle called ``name`` on the search path."""
    check_name(name)
    for folder in search_path(styles_dir):
        if folder.is_dir():
            _recover(folder, name)
        candidate = folder / name
        if (candidate / "style.json").is_file():
            return candidate
    available = ", ".join(sorted({p.name for p in list_style_dirs(styles_dir)})) or "none installed"
    raise MidigenError(f"no style called {name!r} (available: {available})")


def list_style_dirs(styles_dir: str | Path | None = None) -> list[Path]:
    """Every bundle folder on the search path; a name found twice is listed where it is found first."""
    found: dict[str, Path] = {}
    for folder in search_path(styles_dir):
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if NAME_RE.match(child.name) and (child / "style.json").is_file():
                found.setdefault(child.name, child)
    return list(found.values())


def default_write_dir(styles_dir: str | Path | None = None) -> Path:
    return Path(styles_dir) if styles_dir else user_styles_dir()
