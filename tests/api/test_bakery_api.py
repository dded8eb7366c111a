"""Gate's bakery endpoints over HTTP: options from the image config, logs of unknown bakes are 404s."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.temporal


async def test_bake_options_and_logs(api):
    everything = (await api.http.get("/bakery/options")).json()
    assert isinstance(everything, list) and {o["cloudProvider"] for o in everything} >= {"aws"}
    aws = (await api.http.get("/bakery/options/aws")).json()
    assert aws["cloudProvider"] == "aws" and aws["baseImages"]
    missing = await api.http.get("/bakery/options/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    no_bake = await api.http.get("/bakery/logs/us-east-1/not-a-bake")
    assert no_bake.status_code == 404
