"""Writing files so that a reader never sees half of one: write a temporary file beside the target, flush it to disk,
then ``os.replace`` it into place (atomic on POSIX file systems). An error while writing (a full disk, an interrupt)
removes the temporary file and leaves any previous version of the target untouched."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Union

__all__ = ["atomic_write"]

Content = Union[bytes, str, Callable[[Path], None]]


def atomic_write(path: str | os.PathLike, content: Content) -> Path:
    """Write ``content`` to ``path`` atomically and return the path.

    ``content`` is the bytes or text (UTF-8) to write, or a callable ``write(tmp_path)`` that writes the temporary
    file itself (e.g. ``lambda p: torch.save(state, p)``). The temporary file is ``.<name>.tmp-<pid>`` in the same
    folder, so concurrent writers of the same target (several ranks) never share one.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if callable(content):
            content(tmp)
        else:
            data = content.encode() if isinstance(content, str) else bytes(content)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
