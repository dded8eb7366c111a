"""``python -m gennaker.payloads gc [--dry-run] [--retention-days N]``: collect unneeded payload blobs."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from core.settings import ConfigFileError, describe_error, load_settings
    from gennaker.temporal_client import TemporalConnectError, connect

    from . import blob_store
    from .blobs import BlobStoreError
    from .gc import collect

    parser = argparse.ArgumentParser(prog="python -m gennaker.payloads", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gc = sub.add_parser("gc", help="delete blobs no workflow in Temporal refers to any more")
    gc.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    gc.add_argument("--retention-days", type=float, help="override GENNAKER_PAYLOADS__RETENTION_DAYS")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except (ValidationError, ConfigFileError) as exc:
        print(f"bad settings:\n{describe_error(exc)}", file=sys.stderr)
        return 2

    async def run() -> dict[str, object]:
        client = await connect(settings)
        store = blob_store(settings)
        try:
            days = args.retention_days if args.retention_days is not None else settings.payloads.retention_days
            return asdict(await collect(store, client, days, dry_run=args.dry_run))
        finally:
            store.close()

    try:
        print(json.dumps(asyncio.run(run())))
    except (TemporalConnectError, BlobStoreError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    exit_now(main())
