"""Share style bundles as ``.tar.gz`` files: export one, and import one from a stranger safely.

An archive holds one folder, ``NAME/``, with the bundle's files (``style.json``, ``model.safetensors``
and optionally README.md, LICENSE, SOURCE.md and the side files of ``sidecar``). Import trusts nothing in it: every member is checked
before anything is written (plain names inside that one folder, regular files only, only the bundle's
allowed files, no pickle-capable file, no member over ``MAX_MEMBER_BYTES``), extraction uses tarfile's
``data`` filter as a second guard, and the extracted bundle is verified in full with ``load_bundle``
(format, vocabulary, SHA-256 of the weights, every tensor shape) in a temp folder beside the target
before it is swapped in with the same two renames as ``bundle.install``.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import MidigenError
from ..fsutil import atomic_write_json
from .bundle import ALLOWED_FILES, META_FILE, PICKLE_SUFFIXES, WEIGHTS_FILE, load_bundle, read_meta, swap_in
from .registry import check_name, default_write_dir, find_style

MAX_MEMBER_BYTES = 200 * 2**20  # a base-size bundle's weights are ~50 MB
MAX_MEMBERS = 16  # a bundle is a folder entry and at most seven files (five, and two side files)
_DIR_MODE, _FILE_MODE = 0o755, 0o644


def export_style(name: str, archive: str | Path, *, styles_dir: str | Path | None = None, force: bool = False) -> Path:
    """Write the bundle ``name`` (verified first) to ``archive`` as ``NAME/<files>``, atomically."""
    folder = find_style(name, styles_dir)
    load_bundle(folder, backend="numpy")  # never hand out a bundle that would not load
    archive = Path(archive)
    if archive.is_dir():
        raise MidigenError(f"{archive} is a folder; give the archive's file name, e.g. {name}.tar.gz")
    if archive.exists() and not force:
        raise MidigenError(f"{archive} exists (use --force to overwrite)")
    archive.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".tmp", dir=archive.parent)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.addfile(_clean_info(tarfile.TarInfo(name), tarfile.DIRTYPE, _DIR_MODE, 0))
            for path in sorted(folder.iterdir()):
                info = _clean_info(tarfile.TarInfo(f"{name}/{path.name}"), tarfile.REGTYPE, _FILE_MODE, path.stat().st_size)
                with open(path, "rb") as f:
                    tar.addfile(info, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, archive)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return archive


def _clean_info(info: tarfile.TarInfo, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    """A member that says nothing about this machine: no owner, no user name, a fixed mode."""
    info.type, info.mode, info.size = kind, mode, size
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def import_style(archive: str | Path, *, name: str | None = None, styles_dir: str | Path | None = None,
                 force: bool = False) -> Path:
    """Install the bundle in ``archive`` (as ``name`` if given); MidigenError naming the archive otherwise."""
    if name is not None:
        check_name(name)
    archive = Path(archive)
    if not archive.is_file():
        raise MidigenError(f"{archive}: {'is a folder, not an archive' if archive.is_dir() else 'no such file'}")
    try:
        with tarfile.open(archive, "r:*") as tar:
            folder_name, members = _checked_members(tar, archive)
            name = check_name(name or folder_name)
            target = default_write_dir(styles_dir) / name
            _refuse_existing(name, target, styles_dir, force)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{name}.import-", dir=target.parent))
            try:
                _extract(tar, members, tmp)
                bundle = tmp / folder_name
                _verify(bundle, archive, name)
                swap_in(bundle, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise MidigenError(f"{archive}: cannot read it as a .tar.gz archive ({e})") from e
    except OSError as e:
        raise MidigenError(f"{archive}: cannot import: {e}") from e
    return target


def _checked_members(tar: tarfile.TarFile, archive: Path) -> tuple[str, list[tarfile.TarInfo]]:
    """(the bundle's folder name, its members) once every member has passed every check."""
    members, seen, folders = [], set(), set()
    for member in iter(tar.next, None):
        if len(members) >= MAX_MEMBERS:
            raise MidigenError(f"{archive}: more than {MAX_MEMBERS} members; a style bundle has a handful of files")
        refuse = _member_problem(member, seen)
        if refuse:
            raise MidigenError(f"{archive}: refusing member {member.name!r}: {refuse}")
        seen.add(member.name)
        folders.add(PurePosixPath(member.name).parts[0])
        members.append(member)
    if len(folders) != 1:
        found = ", ".join(sorted(folders)) or "nothing"
        raise MidigenError(f"{archive}: an archive must hold exactly one style bundle folder (found: {found})")
    files = {PurePosixPath(m.name).name for m in members if m.isfile()}
    missing = [f for f in (META_FILE, WEIGHTS_FILE) if f not in files]
    if missing:
        raise MidigenError(f"{archive}: not a style bundle ({', '.join(missing)} missing)")
    return folders.pop(), members


def _member_problem(member: tarfile.TarInfo, seen: set[str]) -> str | None:
    """Why a member may not be extracted, or None."""
    parts = PurePosixPath(member.name).parts
    if member.name.startswith("/") or "\\" in member.name or ":" in member.name:
        return "absolute or non-POSIX path"
    if any(p in ("", ".", "..") for p in parts):
        return "path with '..' or '.'"
    if member.issym() or member.islnk():
        return "links are not allowed"
    if not (member.isfile() or member.isdir()) or member.issparse():
        return "only plain files and one folder are allowed (no devices, fifos or sparse files)"
    if member.name in seen:
        return "appears twice"
    if member.isdir():
        return None if len(parts) == 1 else "nested folder"
    if len(parts) != 2:
        return "files must sit directly inside the bundle's folder"
    if PurePosixPath(parts[1]).suffix.lower() in PICKLE_SUFFIXES:
        return "pickle-capable file (bundles hold safetensors and JSON only)"
    if parts[1] not in ALLOWED_FILES:
        return f"not a bundle file (allowed: {', '.join(sorted(ALLOWED_FILES))})"
    if member.size > MAX_MEMBER_BYTES:
        return f"{member.size / 2**20:.0f} MB (at most {MAX_MEMBER_BYTES // 2**20} MB)"
    return None


def _refuse_existing(name: str, target: Path, styles_dir: str | Path | None, force: bool) -> None:
    if force:
        return
    if target.exists():
        raise MidigenError(f"style {name!r} already exists at {target} (use --force to replace it, or --name)")
    try:
        found = find_style(name, styles_dir)
    except MidigenError:
        return
    raise MidigenError(f"a style {name!r} already exists at {found} (use --name to import under another name)")


def _extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], into: Path) -> None:
    """Extract checked members (with the ``data`` filter where this Python has it), then fix modes and sizes."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, members=members, filter="data")
    else:  # pragma: no cover - Python without extraction filters; every member was checked above
        tar.extractall(into, members=members)
    for path in into.rglob("*"):
        os.chmod(path, _DIR_MODE if path.is_dir() else _FILE_MODE)
        if path.is_file() and path.stat().st_size > MAX_MEMBER_BYTES:
            raise MidigenError(f"{path.name}: larger than its archive entry said")


def _verify(bundle: Path, archive: Path, name: str) -> None:
    """The bundle's model matches its weights, and ``load_bundle`` accepts it; renamed to ``name``."""
    from safetensors import SafetensorError

    try:
        meta = read_meta(bundle)
        if meta.get("name") != name:
            atomic_write_json(bundle / META_FILE, {**meta, "name": name})
        load_bundle(bundle, backend="numpy")
    except (MidigenError, SafetensorError) as e:
        problem = str(e).replace(f"{bundle}: ", "")
        raise MidigenError(f"{archive}: not a valid style bundle: {problem}") from e
