"""Gate's infrastructure reads over HTTP, from the cloud cache: filled by the refresh workflow (as its
Schedule would start it) against moto's server, and written through by a deploy."""

from __future__ import annotations

import asyncio

import pytest

from core.messages.cloud_cache import RefreshCloudCacheInput
from tests.api.conftest import serve_api
from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION, ZONES

pytestmark = pytest.mark.temporal


async def test_reads_from_the_cache(client, tmp_path, aws_world, moto_endpoint):
    account = {
        "name": "test",
        "type": "aws",
        "regions": [REGION],
        "accessKeyId": FAKE_KEY_ID,
        "secretAccessKey": FAKE_SECRET,
        "endpointUrl": moto_endpoint,
    }
    async with serve_api(client, tmp_path, accounts=[account]) as api:
        # nothing cached yet: empty answers that say so
        empty = await api.http.get("/applications/myapp/clusters")
        assert empty.json() == {} and empty.headers["X-Gennaker-Cache-Refreshed-At"] == "never"

        cluster = {
            "application": "myapp",
            "stack": "web",
            "account": "test",
            "cloudProvider": "aws",
            "availabilityZones": {REGION: ZONES},
            "capacity": {"min": 1, "max": 1, "desired": 1},
            "imageId": aws_world.image_id,
            "subnetType": "internal",
            "targetGroups": [aws_world.target_group_name],
        }
        await api.http.post(
            "/pipelines",
            json={
                "application": "myapp",
                "name": "ship",
                "stages": [{"refId": "1", "type": "createServerGroup", **cluster}],
            },
        )
        run = (await api.http.post("/pipelines/myapp/ship", json={})).json()["ref"].split("/")[-1]
        assert (await api.finished(run))["status"] == "SUCCEEDED"
        # written through by the deploy, before any refresh
        written = (await api.http.get("/applications/myapp/serverGroups")).json()
        assert [g["name"] for g in written] == ["myapp-web-v000"]

        await client.execute_workflow(
            "RefreshCloudCache",
            RefreshCloudCacheInput("aws", "test"),
            id=f"refresh-{tmp_path.name}",
            task_queue=api.settings.task_queue,
        )
        answer = await api.http.get("/applications/myapp/clusters")
        assert answer.json() == {"test": ["myapp-web"]}
        assert float(answer.headers["X-Gennaker-Cache-Age-Seconds"]) < 60
        [whole] = (await api.http.get("/applications/myapp/clusters/test/myapp-web")).json()
        assert whole["serverGroups"][0]["capacity"] == {"min": 1, "max": 1, "desired": 1}
        group = (await api.http.get(f"/applications/myapp/serverGroups/test/{REGION}/myapp-web-v000")).json()
        assert group["isDisabled"] is False and group["targetGroups"] == [aws_world.target_group_name]
        current = await api.http.get(
            f"/applications/myapp/clusters/test/myapp-web/aws/{REGION}/serverGroups/target/current_asg_dynamic"
        )
        assert current.json()["name"] == "myapp-web-v000"
        missing = await api.http.get(
            f"/applications/myapp/clusters/test/myapp-web/aws/{REGION}/serverGroups/target/ancestor_asg_dynamic"
        )
        assert missing.status_code == 404
        instance_id = group["instances"][0]["id"]
        shown = (await api.http.get(f"/instances/test/{REGION}/{instance_id}")).json()
        assert shown["serverGroup"] == "myapp-web-v000"
        images = (await api.http.get("/images/find", params={"q": "myapp-1.0*", "region": REGION})).json()
        assert [i["imageId"] for i in images] == [aws_world.image_id]
        found = (await api.http.get("/search", params={"q": "web-v0", "type": "serverGroups"})).json()
        assert found[0]["totalMatches"] == 1 and found[0]["results"][0]["serverGroup"] == "myapp-web-v000"
        lbs = (await api.http.get("/loadBalancers", params={"provider": "aws"})).json()
        assert {lb["name"] for lb in lbs} >= {"myapp-frontend"}
        assert (await api.http.get("/search", params={"type": "nonsense"})).status_code == 400
        await asyncio.sleep(0)


async def test_credentials_never_show_secrets(client, tmp_path):
    accounts = [
        {
            "name": "aws",
            "type": "aws",
            "regions": ["us-east-1"],
            "accessKeyId": "AKIA1",
            "secretAccessKey": "s1",
            "roleArn": "arn:aws:iam::1:role/x",
            "externalId": "ext-secret",
        },
        {
            "name": "gce",
            "type": "gce",
            "project": "my-project-1",
            "regions": ["us-central1"],
            "jsonPath": "/etc/key.json",
        },
    ]
    async with serve_api(client, tmp_path, accounts=accounts) as api:
        shown = (await api.http.get("/credentials")).json()
    text = str(shown)
    assert [a["name"] for a in shown] == ["aws", "gce"] and shown[0]["roleArn"] == "arn:aws:iam::1:role/x"
    for secret in ("AKIA1", "s1'", "ext-secret", "/etc/key.json"):
        assert secret not in text
