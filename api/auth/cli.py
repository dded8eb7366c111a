"""``gennaker auth token issue|list|revoke`` and ``gennaker auth reseal``: the admin's commands, run on the server
machine.

They write to the store directly (its URL from the settings), not through the API: issuing the first admin
token is how an installation with authentication on gets its first admin; ``reseal`` seals stored webhook header
values again with the current key after a rotation (api/auth/reseal.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any


def add_parser(commands: Any) -> argparse.ArgumentParser:
    auth: argparse.ArgumentParser = commands.add_parser(
        "auth", help="API tokens and sealed secrets (writes the store directly; run it on the server)"
    )
    what = auth.add_subparsers(dest="auth_command", metavar="COMMAND", required=True)
    token = what.add_parser("token", help="issue, list and revoke API tokens")
    verbs = token.add_subparsers(dest="token_command", metavar="VERB", required=True)
    issue = verbs.add_parser("issue", help="issue a token for a user; it is printed once, and only a hash is kept")
    issue.add_argument("--user", required=True, help="the token's owner (a user or a service account name)")
    issue.add_argument("--role", action="append", dest="roles", default=[], metavar="ROLE", help="a role (repeatable)")
    issue.add_argument("--expires", help="how long it is valid: 30d, 12h, 2w (default: until revoked)")
    issue.add_argument("--description", help="what the token is for")
    listing = verbs.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--user", help="only this owner's tokens")
    revoke = verbs.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    resealing = what.add_parser(
        "reseal",
        help="seal stored webhook header values again with auth.seal_key (after a rotation: docs/security-auth.md)",
    )
    resealing.add_argument("--dry-run", action="store_true", help="report what would be sealed again; save nothing")
    for parser in (issue, listing, revoke, resealing):
        parser.add_argument("--output", "-o", choices=["text", "json"], default="text")
    return auth


def run(args: argparse.Namespace, settings: Any) -> int:
    from core.store import NotFoundError, Store, StoreError

    from . import tokens

    store = Store(settings.store_url)
    try:
        store.migrate()
        if args.auth_command == "reseal":
            return _reseal(args, settings, store)
        if args.token_command == "issue":
            try:
                token, record = tokens.issue(
                    store, args.user, args.roles, expires=args.expires, by="cli", description=args.description
                )
            except ValueError as err:
                print(f"gennaker: {err}", file=sys.stderr)
                return 2
            _audit(store, "token.issue", record["id"], f"owner={record['owner']}; roles={','.join(record['roles'])}")
            if args.output == "json":
                print(json.dumps({**record, "token": token}))
            else:
                print(
                    f"token {record['id']} for {record['owner']} (roles: {', '.join(record['roles']) or 'none'}; "
                    f"expires: {_when(record['expiresAt'])})"
                )
                print("shown once, keep it safe; send it as 'Authorization: Bearer <token>':")
                print(token)
            return 0
        if args.token_command == "list":
            records = [tokens.public(t) for t in store.api_tokens.all(args.user)]
            if args.output == "json":
                print(json.dumps(records))
            else:
                print(f"{'ID':<17} {'OWNER':<24} {'ROLES':<20} {'EXPIRES':<17} {'LAST USED':<17} STATE")
                for t in records:
                    state = "revoked" if t["revokedAt"] else "active"
                    print(
                        f"{t['id']:<17} {t['owner']:<24} {','.join(t['roles']):<20} {_when(t['expiresAt']):<17} "
                        f"{_when(t['lastUsedAt'], 'never'):<17} {state}"
                    )
            return 0
        try:
            record = tokens.public(store.api_tokens.revoke(args.id))
        except NotFoundError as err:
            print(f"gennaker: {err}", file=sys.stderr)
            return 2
        _audit(store, "token.revoke", record["id"], f"owner={record['owner']}")
        print(json.dumps(record) if args.output == "json" else f"token {record['id']} of {record['owner']} revoked")
        return 0
    except StoreError as err:
        print(f"gennaker: the store: {err}", file=sys.stderr)
        return 3
    finally:
        store.close()


def _reseal(args: argparse.Namespace, settings: Any, store: Any) -> int:
    """0 when every stored sealed value opens with the current key (now); 1 when some open with no key."""
    from core.sealing import SealError

    from .reseal import reseal_configs

    try:
        report = reseal_configs(store, settings, dry_run=args.dry_run)
    except SealError as err:  # a key that is not a Fernet key
        print(f"gennaker: {err}", file=sys.stderr)
        return 2
    if not args.dry_run and report.configs:
        detail = f"resealed={report.resealed}; configs={len(report.configs)}; unopenable={len(report.unopenable)}"
        _audit(store, "seal.reseal", "configs", detail, resource_type="pipelineConfig")
    if args.output == "json":
        print(json.dumps({**report.json(), "dryRun": args.dry_run}))
    else:
        verb = "would seal again" if args.dry_run else "sealed again"
        print(f"{report.checked} sealed values checked; {verb}: {report.resealed} in {len(report.configs)} configs")
        for c in report.configs:
            print(f"  {c['kind']} {c['application']}/{c['name']} ({c['id']}): {c['values']}")
        for c in report.stale:
            print(f"  changed meanwhile, left (run again): {c['kind']} {c['application']}/{c['name']} ({c['id']})")
    for c in report.unopenable:
        print(
            f"gennaker: {c['values']} values of {c['kind']} {c['application']}/{c['name']} ({c['id']}) open with no "
            "configured key: save it again with those headers in clear",
            file=sys.stderr,
        )
    return 1 if report.unopenable else 0


def _audit(store: Any, action: str, token_id: str, detail: str, *, resource_type: str = "token") -> None:
    """Changes made on the server machine go to the audit trail too (principal ``cli``)."""
    store.audit.record(
        {
            "principal": "cli",
            "via": "cli",
            "action": action,
            "resourceType": resource_type,
            "resourceName": token_id,
            "outcome": "success",
            "status": 0,
            "detail": detail[:500],
        }
    )


def _when(ms: int | None, none: str = "never") -> str:
    if ms is None:
        return none
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
