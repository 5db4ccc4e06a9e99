"""Errors a user causes and can fix: the CLI prints their message as one line and exits with status 2.

The library modules raise their own precise types (a dataset layout, a checkpoint, a config…); the CLI's
:func:`benchmarks.cli.user_errors` lists them all. This module holds the ones that belong to no single layer.
"""
from __future__ import annotations


class UsageError(ValueError):
    """A flag or option value that cannot work (a layer out of range, a device that is not there, a split option a
    task does not have); the message says which and why."""


class UnknownName(KeyError):
    """A name that is not one of the known tables, sets, …; ``str()`` is the plain message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


def did_you_mean(name: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``candidates`` to ``name`` (difflib), else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name).lower(), [str(c) for c in candidates], n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
