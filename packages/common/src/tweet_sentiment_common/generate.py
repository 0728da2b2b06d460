"""`python -m tweet_sentiment_common.generate DIR`: write the JSON Schema files of the Kafka
records (generated from the contract models) into DIR; `--check` only compares.

`make schemas` writes them into the producer package; tests/test_contract.py fails when the
committed files differ from what this writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .contract import json_schemas, render_json_schema, write_json_schemas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tweet_sentiment_common.generate")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="fail when a file differs; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            name
            for name, schema in json_schemas().items()
            if not (args.directory / name).is_file()
            or (args.directory / name).read_text(encoding="utf-8") != render_json_schema(schema)
        ]
        for name in stale:
            print(f"{args.directory / name} is out of date: run make schemas", file=sys.stderr)
        return 1 if stale else 0
    for path in write_json_schemas(args.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
