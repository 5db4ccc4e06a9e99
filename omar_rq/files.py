"""Writing files so that a reader never sees half of one: write a temporary file beside the target, flush it to disk,
then ``os.replace`` it into place (atomic on POSIX file systems). An error while writing (a full disk, an interrupt)
removes the temporary file and leaves any previous version of the target untouched."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union

__all__ = ["atomic_write"]

Content = Union[bytes, str, Callable[[Path], None]]


def atomic_write(path: str | os.PathLike, content: Content, mode: int | None = None) -> Path:
    """Write ``content`` to ``path`` atomically and return the path.

    ``content`` is the bytes or text (UTF-8) to write, or a callable ``write(tmp_path)`` that writes the temporary
    file itself (e.g. ``lambda p: torch.save(state, p)``). The temporary file is a unique ``.<name>.tmp-*<suffix>``
    in the target's folder (same suffix as the target, for writers that add one), so concurrent writers never share
    one. The data is flushed to disk before the rename. ``mode``: permission bits for the file (default: the
    temporary file's, 0600). Errors propagate (``OSError`` with ``errno.ENOSPC`` on a full disk) after the temporary
    file is removed.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=path.suffix, dir=path.parent)
    tmp = Path(name)
    try:
        if callable(content):
            os.close(fd)
            content(tmp)
            fd = os.open(tmp, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        else:
            data = content.encode() if isinstance(content, str) else bytes(content)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
