"""`tinykws`: the command line. Parses arguments, calls a library function, prints.

Every verb lives in its own module and imports heavy libraries (torch, matplotlib)
only when it runs, so `tinykws --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from tinykws import __version__
from tinykws.cli._types import positive_int
from tinykws.cli._verbs import add_verbs
from tinykws.errors import TinyKWSError

# The order in which `tinykws --help` lists the verbs.
VERB_MODULES = ["features", "data", "models", "train", "evaluate", "quantize", "stream", "stream_eval", "export",
                "codegen", "profile", "sweep", "bench", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinykws",
        description="Keyword spotting from audio to a microcontroller, every step proven.",
    )
    parser.add_argument("--version", action="version", version=f"tinykws {__version__}")
    parser.add_argument(
        "--threads", type=positive_int, default=None, metavar="N",
        help="CPU threads for numpy/torch (default: all cores)",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    add_verbs(sub, "tinykws.cli", VERB_MODULES)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Everything after the package's own import is inside the handlers, so that Ctrl-C while
    # the verbs' modules or torch load stops as quietly as Ctrl-C while a verb runs.
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0 if args.verb is None else 2
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler below
        return status
    except TinyKWSError as exc:
        print(f"tinykws: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as exc:
        # The last guard for files the library does not open itself (a path the user named
        # that vanished, a full disk under a third-party writer): one line, not a traceback.
        if exc.filename is None:
            raise
        print(f"tinykws: error: {exc.filename}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinykws: interrupted", file=sys.stderr)
        return 130


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _closed_pipe() -> int:
    """The reader of our output went away (`tinykws data info | head`): stop quietly.

    stdout is pointed at /dev/null so that the interpreter's final flush does not fail
    again; 141 is what a shell reports for a process ended by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
