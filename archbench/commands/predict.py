"""`archbench predict`: score architectures with a saved predictor."""
from __future__ import annotations

import argparse

from ._common import print_frame

NAME = "predict"
HELP = "predict the architectures of a space (or given encodings) with a saved predictor"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP,
                       description="Load a predictor saved by `archbench train --out DIR` and predict every "
                                   "architecture of --space in the tables, or the native encodings given with "
                                   "--arch; print the best ones or write all with --output.")
    p.add_argument("model", nargs="?", help="directory of a saved predictor (or give --model DIR)")
    p.add_argument("--model", dest="model_dir", metavar="DIR", help="the same as the positional MODEL")
    p.add_argument("--space", required=True, help="search space of the architectures")
    p.add_argument("--arch", action="append", metavar="ENCODING", help="a native encoding to predict (repeatable)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="rows to print (default 10)")
    p.add_argument("--output", "-o", metavar="PATH", help="write all predictions to a .csv or .parquet file")
    p.add_argument("--stdin", action="store_true",
                   help="JSON-lines mode for search code in any language: read architectures one per line from stdin "
                        '(a native encoding, a JSON string or {"arch": ..., "id": ...}) and answer each at once with '
                        '{"line": n, "arch": ..., "prediction": x}, or {"line": n, "arch": ..., "error": "..."} for a '
                        "malformed line")
    p.add_argument("--input", metavar="FILE", help="JSON-lines mode reading FILE instead of stdin")
    p.add_argument("--batch-size", type=int, default=1, metavar="N",
                   help="JSON-lines mode: answer every N lines (faster for files; default 1 answers each line at once)")
    p.set_defaults(func=run)


def _run_jsonl(args: argparse.Namespace, model_dir: str) -> int:
    """The --stdin / --input mode (see archbench.api.predict_jsonl)."""
    import sys

    from archbench.api import load_predictor, predict_jsonl
    from archbench.errors import ArchbenchError
    from archbench.graphs.spaces import get_space

    if args.batch_size < 1:
        raise ArchbenchError(f"--batch-size must be at least 1, found {args.batch_size}")
    get_space(args.space)  # an unknown space fails before any line is read
    model = load_predictor(model_dir)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def lines(stream):
        while True:  # readline, not iteration: answer each line as soon as it arrives on a pipe
            line = stream.readline()
            if not line:
                return
            yield line

    if args.input:
        with open(args.input) as fh:
            predict_jsonl(model, lines(fh), write, space=args.space, batch_size=args.batch_size)
    else:
        predict_jsonl(model, lines(sys.stdin), write, space=args.space, batch_size=args.batch_size)
    return 0


def run(args: argparse.Namespace) -> int:
    import time

    from archbench.errors import ArchbenchError

    if (args.model is None) == (args.model_dir is None):
        raise ArchbenchError("give the saved predictor's directory once: as MODEL or as --model DIR")
    args.model = args.model or args.model_dir
    if args.stdin or args.input:
        return _run_jsonl(args, args.model)

    from archbench.datasets.catalog import write_result
    from archbench.eval.protocols import predict_space

    t = time.perf_counter()
    df = predict_space(args.model, args.home, args.space, encodings=args.arch)
    seconds = time.perf_counter() - t
    if args.output:
        path = write_result(df, args.output)
        print(f"wrote {len(df):,} predictions to {path} ({seconds:.1f} s)")
    else:
        print(f"{len(df):,} architectures predicted in {seconds:.1f} s; best {min(args.top, len(df))}:")
        print_frame(df.head(args.top))
    return 0
