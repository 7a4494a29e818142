"""Command line: ``storecast-trainer {worker,golden,bench}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the storecast-trainer command line."""
    parser = argparse.ArgumentParser(prog="storecast-trainer", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("golden", help="regenerate the Go parity golden files")
    g.add_argument("--out", type=Path, default=Path("model/testdata/golden"))

    args = parser.parse_args(argv)
    if args.cmd == "golden":
        from .golden import make_golden

        manifest = make_golden(args.out)
        json.dump(manifest, sys.stdout, indent=2)
        print()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
