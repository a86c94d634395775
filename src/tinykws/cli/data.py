"""`tinykws data ...`: download, info, synth, streams."""

from __future__ import annotations

import argparse

from tinykws.cli._verbs import add_verbs

DATA_VERB_MODULES = ["data_download", "data_info", "data_synth", "data_mine", "data_streams"]


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser("data", help="datasets: download, inspect, synthesize, mine")
    sub = p.add_subparsers(dest="data_verb", metavar="ACTION")
    add_verbs(sub, "tinykws.cli", DATA_VERB_MODULES)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
