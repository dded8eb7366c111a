"""Echo's RestEventListener shapes: wrap, template, eventName/fieldName, flatten, headers, filters, settings."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from core.settings.events import EventSettings
from integrations.events.rest import EventTemplateError, headers, matches, render

EVENT = {
    "seq": 7,
    "details": {"source": "orca", "type": "orca:stage:complete", "created": "1", "application": "app"},
    "content": {"executionId": "E", "name": "deploy"},
    "eventId": "u-1",
}


def settings(**endpoint: object) -> EventSettings:
    return EventSettings.model_validate({"endpoints": [{"url": "https://hec.example.com/x", **endpoint}]})


def test_plain_body_is_the_event_without_our_sequence() -> None:
    s = settings()
    assert render(s.endpoints[0], s, EVENT) == {k: v for k, v in EVENT.items() if k != "seq"}


def test_wrap_uses_the_default_names_or_the_endpoint_s() -> None:
    s = settings(wrap=True)
    assert render(s.endpoints[0], s, EVENT) == {
        "eventName": "spinnaker_events",
        "payload": render(settings().endpoints[0], s, EVENT),
    }
    s = settings(wrap=True, eventName="gennaker", fieldName="event")
    body = render(s.endpoints[0], s, EVENT)
    assert body["eventName"] == "gennaker" and body["event"]["eventId"] == "u-1"


def test_template_and_flatten() -> None:
    s = settings(wrap=True, template='{"event": {{event}}, "sourcetype": "spinnaker"}', flatten=True)
    body = render(s.endpoints[0], s, EVENT)
    assert body["sourcetype"] == "spinnaker"
    assert json.loads(body["event"]["content"]) == EVENT["content"]
    assert json.loads(body["event"]["details"])["type"] == "orca:stage:complete"
    bad = settings(wrap=True, template="[{{event}}]")
    with pytest.raises(EventTemplateError):
        render(bad.endpoints[0], bad, EVENT)


def test_headers_and_basic_auth() -> None:
    s = settings(headers={"Authorization": "Splunk abc"}, username="u", password="p")
    assert ("Authorization", "Splunk abc") in headers(s.endpoints[0])
    assert ("Authorization", "Basic dTpw") in headers(s.endpoints[0])
    assert "abc" not in repr(s) and "abc" not in s.model_dump_json()


def test_filters_by_type_prefix_and_application() -> None:
    s = settings(types=["orca:stage:*"], applications=["APP"])
    assert matches(s.endpoints[0], EVENT)
    assert not matches(s.endpoints[0], {**EVENT, "details": {**EVENT["details"], "type": "orca:task:complete"}})
    assert not matches(s.endpoints[0], {**EVENT, "details": {**EVENT["details"], "application": "other"}})


@pytest.mark.parametrize(
    ("endpoint", "words"),
    [
        ({"insecure": True}, "insecure is not supported"),
        ({"template": "{}"}, "{{event}}"),
        ({"retryCount": 0}, "retry_count"),
    ],
)
def test_bad_endpoints_are_named(endpoint: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError) as err:
        settings(**endpoint)
    assert words in str(err.value) or words.replace("_c", "C") in str(err.value)


def test_two_endpoints_need_distinct_names() -> None:
    with pytest.raises(ValidationError, match="distinct name"):
        EventSettings.model_validate({"endpoints": [{"url": "https://a.example.com", "name": "x"}] * 2})
