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


async def test_bake_logs_over_http_follow_the_store_s_log_reference(api, tmp_path):
    """A bake by a worker on this host with its own state dir: the store's log reference finds its log."""
    import socket

    from bakery.logs import log_path
    from bakery.store import BakeRecord, BakeStore

    log = log_path(tmp_path / "bakery-worker", "b-http")
    log.parent.mkdir(parents=True)
    log.write_text("==> amazon-ebs: <AMIs> were created\n")
    ref = {"host": socket.gethostname(), "path": str(log), "url": "/bakery/logs/us-east-1/b-http"}
    BakeStore(api.store).create(BakeRecord("b-http", "k", "bake-k", "us-east-1", "aws", log_ref=ref))
    found = await api.http.get("/bakery/logs/us-east-1/b-http")
    assert found.status_code == 200 and found.text == "<pre>==&gt; amazon-ebs: &lt;AMIs&gt; were created\n</pre>"
    BakeStore(api.store).create(BakeRecord("b-far", "k", "bake-k", "us-east-1", "aws", log_ref={**ref, "host": "h9"}))
    far = await api.http.get("/bakery/logs/us-east-1/b-far")
    assert far.status_code == 404 and "kept by the bakery worker on h9" in far.json()["message"]
