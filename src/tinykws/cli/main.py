"""`tinykws`: the command line. Parses arguments, calls a library function, prints.

Every verb lives in its own module and imports heavy libraries (torch, matplotlib)
only when it runs, so `tinykws --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from tinykws import __version__
from tinykws.cli._verbs import add_verbs
from tinykws.errors import TinyKWSError

# The order in which `tinykws --help` lists the verbs.
VERB_MODULES = ["features", "data", "models", "train", "evaluate", "quantize", "codegen", "profile", "sweep",
                "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinykws",
        description="Keyword spotting from audio to a microcontroller, every step proven.",
    )
    parser.add_argument("--version", action="version", version=f"tinykws {__version__}")
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="CPU threads for numpy/torch (default: all cores)",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    add_verbs(sub, "tinykws.cli", VERB_MODULES)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.verb is None else 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return int(args.func(args) or 0)
    except TinyKWSError as exc:
        print(f"tinykws: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinykws: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
