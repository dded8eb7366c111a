"""The deploy activities are composed on provider sessions: one session per cloud provider (its client and the
cache its writes go through), handed to each activity class by ``activities.deploy.build``."""

from __future__ import annotations

from typing import Any

import pytest

from activities.deploy import build
from activities.deploy_base import ProviderSessions, StageInputError


class _Cloud:
    cloud_provider = "aws"

    def __init__(self, groups: dict[str, Any]) -> None:
        self.groups = groups

    def server_group(self, account: str, region: str, name: str) -> Any:
        return self.groups.get(name)


class _Group:
    def to_json(self) -> dict[str, Any]:
        return {"name": "app-v001"}


class _Cache:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def put_item(self, provider: str, account: str, kind: str, item: dict[str, Any]) -> None:
        self.calls.append(("put", provider, account, kind, item["name"]))

    def drop_item(self, provider: str, account: str, kind: str, region: str, name: str) -> None:
        self.calls.append(("drop", provider, account, kind, region, name))


class _Store:
    def __init__(self) -> None:
        self.cloud_cache = _Cache()


def test_a_stage_without_cloud_provider_gets_aws_and_an_unknown_one_is_named() -> None:
    cloud = _Cloud({})
    sessions = ProviderSessions({"aws": cloud})  # type: ignore[dict-item]
    assert sessions.session(None).cloud is cloud and sessions.cloud("aws") is cloud
    with pytest.raises(StageInputError, match=r"cloudProvider: 'gce' has no accounts here \(known: aws\)"):
        sessions.session("gce")


def test_a_session_writes_the_group_through_the_cache_or_drops_it_when_gone() -> None:
    store = _Store()
    session = ProviderSessions({"aws": _Cloud({"app-v001": _Group()})}, store).session("aws")  # type: ignore[dict-item]
    session.refresh("prod", "us-east-1", "app-v001")
    session.refresh("prod", "us-east-1", "app-v002")
    assert store.cloud_cache.calls == [
        ("put", "aws", "prod", "serverGroups", "app-v001"),
        ("drop", "aws", "prod", "serverGroups", "us-east-1", "app-v002"),
    ]
    ProviderSessions({"aws": _Cloud({})}).session("aws").refresh("prod", "us-east-1", "x")  # no store: nothing


def test_build_hands_every_activity_class_the_same_sessions() -> None:
    acts = build({"aws": _Cloud({})})  # type: ignore[dict-item]
    assert [a.__name__ for a in acts] == [
        "choose_names",
        "create_server_groups",
        "wait_for_up_instances",
        "determine_target",
        "disable",
        "enable",
        "destroy",
        "resize",
        "wait_for_capacity",
        "cluster_operate",
        "cluster_size",
        "rollback",
        "rollback_candidates",
        "cancel",
        "find_image",
    ]
    assert len({id(a.__self__.sessions) for a in acts}) == 1  # type: ignore[attr-defined]
