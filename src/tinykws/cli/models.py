"""`tinykws models [NAME] [--json]`: the model zoo, or one model layer by layer."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "models",
        help="list the model zoo: front-end, input, parameters, MACs",
        description="List every registered model with its default front-end and input, its "
                    "trainable parameters and multiply-accumulates per inference on that input; "
                    "with NAME, the per-layer counts of one model.",
    )
    p.add_argument("name", nargs="?", help="show one model layer by layer")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def run(args: argparse.Namespace) -> int:
    from tinykws.models import build_model, model_info, model_names
    from tinykws.models.registry import STREAM_FORMS
    from tinykws.profile.counts import count_model

    if args.name:
        info = model_info(args.name)
        counts = count_model(build_model(args.name), info.input_shape)
        if args.json:
            print(json.dumps({"name": args.name, **counts.to_dict()}, indent=2))
            return 0
        print(f"{args.name}: {info.description}")
        print(f"input {info.input_shape[0]}x{info.input_shape[1]} ({info.frontend})")
        print(f"{'layer':<28} {'kind':<18} {'output':<16} {'params':>9} {'MACs':>12}")
        for row in counts.rows:
            if row.params or row.macs:
                shape = "x".join(str(v) for v in row.output_shape)
                print(f"{row.name:<28} {row.kind:<18} {shape:<16} {row.params:>9,} {row.macs:>12,}")
        print(f"{'total':<64} {counts.params:>9,} {counts.macs:>12,}")
        return 0

    rows = []
    for name in model_names():
        info = model_info(name)
        counts = count_model(build_model(name), info.input_shape)
        rows.append({
            "name": name,
            "frontend": info.frontend,
            "input_shape": list(info.input_shape),
            "params": counts.params,
            "macs": counts.macs,
            "stream": info.stream,
            "streamable": info.streamable,
            "quantizable": info.quantizable,
            "param_budget": info.param_budget,
            "description": info.description,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<20} {'front-end':<12} {'input':>7} {'params':>9} {'MACs':>12} {'stream':>10} {'int8':>5}")
    for r in rows:
        shape = f"{r['input_shape'][0]}x{r['input_shape'][1]}"
        print(f"{r['name']:<20} {r['frontend']:<12} {shape:>7} {r['params']:>9,} {r['macs']:>12,} "
              f"{r['stream']:>10} {_yes(r['quantizable']):>5}")
    print("stream: " + "; ".join(f"{form}: {meaning}" for form, meaning in STREAM_FORMS.items()))
    return 0
