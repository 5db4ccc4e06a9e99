"""Errors a user causes and can fix that belong to no single layer. Every such error, here or in the library modules
(a dataset layout, a checkpoint, a config…), is a :class:`omar_rq.errors.UserError`: the CLI prints its message as
one line and exits with status 2.
"""
from __future__ import annotations

from omar_rq.errors import UserError

__all__ = ["UserError", "UsageError", "UnknownName", "did_you_mean"]


class UsageError(UserError, ValueError):
    """A flag or option value that cannot work (a layer out of range, a device that is not there, a split option a
    task does not have); the message says which and why."""


class UnknownName(UserError, KeyError):
    """A name that is not one of the known tables, sets, …; ``str()`` is the plain message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


def did_you_mean(name: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``candidates`` to ``name`` (difflib), else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name).lower(), [str(c) for c in candidates], n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
