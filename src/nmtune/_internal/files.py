"""File helpers written once: atomic writes and SHA-256 digests."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    "sha256_file",
    "read_yaml_mapping",
    "read_text",
    "current_umask",
    "ensure_folder",
    "check_folder_path",
    "csv_delimiter",
]


@contextmanager
def atomic_path(path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; on success it replaces ``path`` atomically.

    Write the file at the yielded path (``np.save``, ``torch.save``, ``np.lib.format.open_memmap``, ...). When the
    block ends normally the temporary file is flushed to disk and renamed onto ``path`` (readers see the old file
    or the new one, never a partial one); when it raises, the temporary file is removed and ``path`` is left as it
    was. Permissions are those of a plain write: a new file gets ``0o666 & ~umask`` (so a shared cache stays
    readable to others when the umask says so), a replaced file keeps its mode. A missing or read-only folder
    is an error naming ``path`` before anything is written.

    Parameters
    ----------
    path : str or path-like
        The final file. Its folder must exist.
    suffix : str, default ".tmp"
        Suffix of the temporary name (``np.save`` appends ``.npy`` to names without it: pass ``".npy"``).

    Yields
    ------
    pathlib.Path
        The temporary path (unique, in the same folder, hidden: it starts with a dot).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give a file path inside it.")
    _check_folder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _final_mode(path))  # mkstemp makes 0600; the file gets what a plain open() would give
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check_folder(path: Path) -> None:
    """The folder of ``path`` exists and is writable, or an error naming ``path`` (not a hidden temp name)."""
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(f"Cannot write {str(path)!r}: its folder {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise NotADirectoryError(f"Cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(
            f"Cannot write {str(path)!r}: the folder {str(folder)!r} is not writable; choose another path."
        )


def check_folder_path(path, what: str = "output folder") -> None:
    """Raise a ``NotADirectoryError`` when ``path`` or its nearest existing parent is a file, not a folder."""
    path = Path(path).expanduser()
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                where = "is a file" if p == path else f"is inside {str(p)!r}, which is a file"
                raise NotADirectoryError(
                    f"The {what} {str(path)!r} {where}, not a folder; give a folder path (or move the file)."
                )
            return


def ensure_folder(path, what: str = "output folder") -> Path:
    """Create the folder ``path`` (and its parents) or raise an error that says what is in the way.

    Parameters
    ----------
    path : path-like
        The folder.
    what : str
        What the folder is, quoted in errors (e.g. ``"--out"``, ``"feature cache folder"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    NotADirectoryError
        ``path`` or one of its parents is a file.
    PermissionError
        A parent folder is not writable.
    """
    path = Path(path).expanduser()
    check_folder_path(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        raise PermissionError(
            f"Cannot create the {what} {str(path)!r}: {exc.strerror.lower()}; choose a writable place."
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"The {what} {str(path)!r} is not writable; choose a writable place.")
    return path


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting and restoring it at once
    os.umask(mask)
    return mask


def _final_mode(path: Path) -> int:
    """The mode of a replaced file is kept; a new file gets ``0o666 & ~umask`` (what ``open(path, "w")`` gives)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    atomic_write_bytes(path, text.encode(encoding))


def sha256_file(path, *, chunk_size: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file's bytes, read in chunks.

    Parameters
    ----------
    path : str or path-like
        The file.
    chunk_size : int, default 4 MiB
        Bytes read at a time.

    Returns
    -------
    str
        64 hex characters.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            h.update(block)
    return h.hexdigest()


def read_yaml_mapping(path, what: str = "configuration") -> dict:
    """Read a YAML (or JSON) file holding a mapping: :func:`nmtune._internal.config.read_yaml`.

    Kept here for its callers; duplicate keys are refused and every problem names the file.
    """
    from nmtune._internal.config import read_yaml

    return read_yaml(path, what)


_LATIN1_HINT = (
    "re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 {name} > {stem}-utf8{suffix}`, or in Python "
    "pandas.read_csv(path, encoding='latin-1').to_csv(new_path, index=False))"
)


def read_text(path, what: str = "file") -> str:
    """A text file's content as UTF-8 (a leading byte-order mark removed); other encodings are clear errors.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, quoted in errors (e.g. ``"CSV file"``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Naming the file, the first byte that is not UTF-8 and its line, and how to convert the file.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = _LATIN1_HINT.format(name=path.name, stem=path.stem, suffix=path.suffix)
        raise ValueError(
            f"{what} {str(path)!r} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be "
            f"decoded (the file is probably latin-1 / Windows-1252); {hint}."
        ) from exc


DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def csv_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file from its header line.

    ``,`` unless the header has no comma and uses ``;`` (spreadsheet exports in many locales), a tab or ``|``
    instead: then the most frequent of those.
    """
    if "," in header_line:
        return ","
    counts = {d: header_line.count(d) for d in DELIMITERS[1:]}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","
