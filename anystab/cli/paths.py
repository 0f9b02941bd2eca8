"""Output paths checked before the work starts: one line naming the path and the reason, never a traceback.

A command that writes a file or folder checks, while its options are parsed, that it will be able to: that no
file stands where a folder is needed (or the other way round) and that a file can be created where the output
goes (a probe file is made and removed again, which also catches read-only mounts and ``/proc``). Folders and
their missing parents are created later by the command itself, as before; a file's folder must exist.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

import click


class OutputPathError(click.BadParameter):
    """A bad output path: a usage error (exit 2) shown as one line, without the usage text."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _existing_ancestor(path: Path) -> Path:
    """The deepest of ``path`` and its parents that exists (``path`` itself when it does)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe(folder: Path) -> str | None:
    """Why no file can be created in ``folder``, or None when one can."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".anystab-probe-")
    except OSError as exc:
        return f"cannot create files in {folder} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(name)
    return None


def dir_problem(path: Path, beside: bool = False) -> str | None:
    """Why ``path`` cannot become an output folder (created with its parents), or None.

    ``beside``: the folder is written next to itself and swapped in (``analyze --out``), so it is the
    parent that must take new files.
    """
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder"
    base = _existing_ancestor(path.parent if beside else path)
    if not base.is_dir():
        return f"{base} is a file, not a folder"
    return _probe(base)


def file_problem(path: Path) -> str | None:
    """Why the file ``path`` cannot be written (whole, through a temporary file beside it), or None."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    folder = Path(os.path.abspath(path)).parent
    if not folder.exists():
        base = _existing_ancestor(folder)
        if not base.is_dir():
            return f"{base} is a file, not a folder"
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    return _probe(folder)


def check_output_dir(path: Path, what: str, beside: bool = False) -> Path:
    """``path`` if it can become an output folder; else :class:`OutputPathError` naming ``what``."""
    problem = dir_problem(path, beside)
    if problem:
        raise OutputPathError(problem, param_hint=what)
    return path


def check_output_file(path: Path, what: str) -> Path:
    """``path`` if the file can be written; else :class:`OutputPathError` naming ``what``."""
    problem = file_problem(path)
    if problem:
        raise OutputPathError(problem, param_hint=what)
    return path


class OutputDir(click.Path):
    """A folder the command writes (created with its parents when missing)."""

    def __init__(self, beside: bool = False) -> None:
        super().__init__(file_okay=False, path_type=Path)
        self.beside = beside

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        problem = dir_problem(Path(os.fsdecode(value)), self.beside)
        if problem:
            raise OutputPathError(problem, ctx=ctx, param=param)
        return super().convert(value, param, ctx)


class OutputFile(click.Path):
    """A file the command writes, whole or not at all; its folder must exist."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        problem = file_problem(Path(os.fsdecode(value)))
        if problem:
            raise OutputPathError(problem, ctx=ctx, param=param)
        return super().convert(value, param, ctx)
