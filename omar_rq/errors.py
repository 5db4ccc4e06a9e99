"""The base class of every error a user causes and can fix: a missing or damaged file, a wrong name, a config or
option that cannot work. Each layer raises its own precise subclass, whose message names the file or value and the
reason; the command line prints that message as one line and exits with status 2 (no traceback)."""
from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """An error the user can fix; ``str(error)`` is the whole, one-line explanation."""
