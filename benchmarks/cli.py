"""The ``omar-bench`` command line: run a model on a task, list what exists, regenerate tables, reproduce a paper's
grid, synthesise the offline datasets, pretrain.

Every subcommand has ``--help``; errors a user can fix (missing data, unknown model, checkpoint not found) print one
clear message and exit with status 2, without a traceback.
The parser is :mod:`benchmarks.parser`, the subcommands :mod:`benchmarks.commands`.
"""
from __future__ import annotations

import os
import sys

from omar_rq.errors import UserError

from .commands import COMMANDS, task_options
from .parser import build_parser

__all__ = ["main", "task_options"]


def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":  # only `run` takes a task's own flags
        parser.parse_args(argv)          # the usual one-line error
    args.extra = extra
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"omar-bench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished embeddings are cached and records written; re-run to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `omar-bench models | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
