"""GitHub's HMAC signatures, alone and as the gate on a ``git`` trigger with a ``secret``."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from integrations.triggers.events import SignatureError, make_event, match_event, verify_github_signature

BODY = (Path(__file__).parent / "payloads" / "github_push.json").read_bytes()
SECRET = "s3cr3t-for-tests"


def sign(algorithm: str, body: bytes = BODY, secret: str = SECRET) -> str:
    return f"{algorithm}=" + hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hub-Signature-256": sign("sha256")},
        {"X-Hub-Signature": sign("sha1")},
        {"x-hub-signature": sign("sha1")[len("sha1=") :]},  # Echo accepts a bare SHA-1 digest
        {"X-Hub-Signature": sign("sha256")},  # Bitbucket Server signs with SHA-256 under this name
        {"X-Hub-Signature-256": sign("sha256").upper().replace("SHA256=", "sha256=")},  # hex case does not matter
        {"X-Hub-Signature-256": sign("sha256"), "X-Hub-Signature": "sha1=0000"},  # SHA-256 is preferred
    ],
)
def test_good_signatures(headers: dict[str, str]) -> None:
    verify_github_signature(SECRET, BODY, headers)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, r"^X-Hub-Signature-256: missing"),
        ({"X-Hub-Signature-256": sign("sha256", secret="other")}, r"^X-Hub-Signature-256: the sha256 signature"),
        ({"X-Hub-Signature-256": sign("sha256", body=BODY + b" ")}, r"^X-Hub-Signature-256: the sha256"),
        ({"X-Hub-Signature-256": sign("sha1")}, r"^X-Hub-Signature-256: expected 'sha256="),
        ({"X-Hub-Signature": sign("sha1", secret="other")}, r"^X-Hub-Signature: the sha1 signature"),
        ({"X-Hub-Signature-256": "sha256=zz\u00e9"}, r"does not match"),
        ({"X-Hub-Signature-256": sign("sha256"), "X-Hub-Signature": "nonsense"}, None),
    ],
)
def test_bad_signatures(headers: dict[str, str], message: str | None) -> None:
    if message is None:  # the SHA-256 header alone decides
        verify_github_signature(SECRET, BODY, headers)
        return
    with pytest.raises(SignatureError, match=message) as caught:
        verify_github_signature(SECRET, BODY, headers)
    assert SECRET not in str(caught.value) and "demo-service" not in str(caught.value)


def test_an_empty_secret_checks_nothing() -> None:
    with pytest.raises(SignatureError, match=r"^secret: empty"):
        verify_github_signature("", BODY, {"X-Hub-Signature-256": sign("sha256")})


def pipelines(**trigger: Any) -> list[dict[str, Any]]:
    config = {"type": "git", "enabled": True, "source": "github", "project": "example-org", "slug": "demo-service"}
    return [{"id": "p1", "application": "app", "name": "deploy", "triggers": [config | trigger]}]


@pytest.mark.parametrize(
    ("secret", "headers", "fires", "reason"),
    [
        (None, {}, True, None),  # no secret, no signature: nothing to check
        ("", {}, True, None),
        (SECRET, {"X-Hub-Signature-256": sign("sha256")}, True, None),
        (SECRET, {"X-Hub-Signature": sign("sha1")}, True, None),
        (SECRET, {}, False, "X-Hub-Signature-256: missing"),
        (SECRET, {"X-Hub-Signature-256": sign("sha256", secret="nope")}, False, "does not match"),
        # Echo refuses a signed request for a trigger without a secret
        (None, {"X-Hub-Signature-256": sign("sha256")}, False, "the request is signed but the trigger has no secret"),
    ],
)
def test_git_trigger_secret(secret: str | None, headers: dict[str, str], fires: bool, reason: str | None) -> None:
    event = make_event("git", "github", BODY, {"X-GitHub-Event": "push", **headers})
    result = match_event(event, pipelines(secret=secret))
    assert len(result.matches) == int(fires)
    if reason is None:
        assert result.refused == []
    else:
        [(pipeline, why)] = result.refused
        assert pipeline == "p1" and reason in why


def test_the_shared_secret_serves_triggers_without_one() -> None:
    event = make_event("git", "github", BODY, {"X-Hub-Signature-256": sign("sha256", secret="shared")})
    assert match_event(event, pipelines(), git_shared_secret="shared").matches
    assert match_event(event, pipelines(secret=SECRET), git_shared_secret="shared").refused


def test_the_secret_never_reaches_the_execution_trigger() -> None:
    event = make_event("git", "github", BODY, {"X-Hub-Signature-256": sign("sha256")})
    [match] = match_event(event, pipelines(secret=SECRET)).matches
    assert "secret" not in match.trigger
    assert SECRET not in json.dumps(match.trigger)
    assert match.config_trigger["secret"] == SECRET


def test_signatures_are_checked_for_every_provider() -> None:
    body = (Path(__file__).parent / "payloads" / "stash_refs_changed.json").read_bytes()
    config = {"type": "git", "enabled": True, "source": "stash", "project": "OPS", "slug": "ledger", "secret": SECRET}
    configs = [{"id": "p2", "triggers": [config]}]
    unsigned = make_event("git", "stash", body, {})
    assert match_event(unsigned, configs).refused
    signed = make_event("git", "stash", body, {"X-Hub-Signature": sign("sha256", body=body)})
    assert match_event(signed, configs).matches
