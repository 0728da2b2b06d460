"""`python3 -m devtools.images build|status|down` (what `make images` / `make images-down` run)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from devtools.images.build import PRODUCTS, ensure_images, image_refs, tarball_path
from devtools.images.engine import engine_status, find_engine, stop_engine
from devtools.images.standins import STANDINS
from devtools.services.common import ServiceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m devtools.images", description=__doc__)
    parser.add_argument("command", choices=["build", "status", "down"])
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            engine_before = find_engine()
            try:
                tarballs = ensure_images(log=lambda msg: print(msg, flush=True))
            finally:
                # Stop only an engine this command started (the tests start theirs when they need it).
                if engine_before is None and stop_engine():
                    print("stopped the Docker engine this build started")
            for component, tarball in tarballs.items():
                size = tarball.stat().st_size / 1e6
                print(f"{component}: {image_refs()[component]}  {tarball}  ({size:.0f} MB)")
            print(f"images ready in {time.monotonic() - started:.1f}s")
        elif args.command == "status":
            refs = image_refs()
            out = {
                "images": {
                    c: {
                        "ref": refs[c],
                        "standin": STANDINS[c].ref,
                        "tarball": str(tarball_path(c, refs[c].rsplit(":", 1)[1])),
                        "built": tarball_path(c, refs[c].rsplit(":", 1)[1]).exists(),
                    }
                    for c in PRODUCTS
                },
                "engine": engine_status(),
            }
            print(json.dumps(out, indent=2))
        else:
            print("stopped our dockerd" if stop_engine() else "no dockerd of ours was running")
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
