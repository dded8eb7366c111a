"""The hot reads' shortcuts (issue 19, docs/performance.md "The API"): pipeline config listings are answered as the
stored JSON, redacted without copying configs that hold no secret, and the OpenAPI document still declares them."""

from __future__ import annotations

import copy
from typing import Any

from api.auth.redaction import PLACEHOLDER, redact, redact_all
from api.main import create_app
from core.settings import Settings


def _config(name: str, **extra: Any) -> dict[str, Any]:
    stage = {"refId": "1", "type": "wait", "name": "w", "waitTime": 1}
    return {"application": "app", "name": name, "stages": [stage], "triggers": [], **extra}


def test_a_config_without_secrets_is_answered_as_it_is() -> None:
    plain = _config("plain")
    assert redact(plain, ["password"]) is plain
    assert redact_all([plain], ["stages.*.context.token"])[0] is plain


def test_a_config_with_secrets_is_copied_and_never_changed_in_place() -> None:
    git = {"type": "git", "source": "github", "project": "p", "slug": "s", "secret": "hmac-key"}
    secret = _config("secret", triggers=[git], password="pw")
    before = copy.deepcopy(secret)
    answered = redact_all([secret], ["password"])[0]
    assert answered is not secret and secret == before
    assert answered["password"] == PLACEHOLDER and answered["triggers"][0]["secret"] == PLACEHOLDER


def test_the_config_listings_still_declare_their_model() -> None:
    paths = create_app(Settings(), temporal=object(), store=object()).openapi()["paths"]
    for path in ("/applications/{application}/pipelineConfigs", "/pipelineConfigs"):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["type"] == "array" and schema["items"] == {"$ref": "#/components/schemas/PipelineConfig"}
