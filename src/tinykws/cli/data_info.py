"""`tinykws data info DIR`: layout, clips per class and split, speakers, duration."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "info",
        help="describe a dataset folder (layout, clips per class and split, speakers)",
        description="Describe a dataset folder from file headers (checked against each file's size; "
        "--check decodes every file). Unreadable files are listed, not fatal.",
    )
    p.add_argument("dir", metavar="DIR", help="dataset folder (raw Speech Commands or class folders)")
    p.add_argument("--layout", choices=["auto", "raw", "folders"], default="auto", help="default: auto-detect")
    p.add_argument(
        "--folder-split", default="test", choices=["train", "validation", "test", "hash"],
        help="split of a class-folder dataset without list files (default: test)",
    )
    p.add_argument("--check", action="store_true",
                   help="decode every file (slower) to find corrupt data, not only unreadable headers")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.data.info import dataset_info, format_info

    info = dataset_info(args.dir, layout=args.layout, folder_split=args.folder_split, check=args.check)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(format_info(info))
    return 0
