"""``make demo``: a real deployment with no cloud account.

Starts moto's AWS server as the account ``aws-local`` (a VPC, subnets, an image, a load balancer and
target group in it), the Temporal dev server, a worker and the API; saves an application and two
pipelines; deploys a first server group; then runs the pipeline a user would: find the image →
bake the next version (Debian's packer, ``amazon-ebs`` against moto) → deploy the baked image
red/black → resize the new group → disable and destroy the old one. Prints the execution's id, status
and Temporal UI link, and exits 0 only if it SUCCEEDED. Without packer it says how to install it and
exits 2.

Kubernetes (``k8s-local``) where its apiserver has been built.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b"]
KEY_ID, SECRET = "AKIADEMOGENNAKERKEY1", "demo-secret-not-a-real-one"  # moto accepts any
NO_PACKER = (
    "make demo bakes an image with packer, which is not installed (not on PATH).\n"
    "Install Debian's packer and run it again:  sudo apt-get install packer"
)


def demo_images() -> str:
    """The bakery's image config for the demo: one base OS, Ubuntu Xenial as moto ships it (found by name,
    as Rosco finds base AMIs), baked without ssh: moto's instances are not machines packer could connect
    to, so the package is named in the image and its tags but not installed."""
    base = {"id": "xenial", "shortDescription": "v16.04", "detailedDescription": "moto's Ubuntu", "packageType": "deb"}
    where = {
        "region": REGION,
        "instanceType": "t3.micro",
        "sourceAmi": "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*",
        "sourceAmiOwners": ["099720109477"],
        "sshUserName": "ubuntu",
    }
    config = {"aws": {"communicator": "none", "baseImages": [{"baseImage": base, "virtualizationSettings": [where]}]}}
    return json.dumps(config, indent=2)  # YAML is a superset of JSON


def build_world(endpoint: str) -> dict[str, str]:
    """What a small AWS account holds, in moto: a VPC with tagged subnets, an image, an ALB and its target group."""
    import boto3

    kw: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
    }
    ec2, elbv2 = boto3.client("ec2", **kw), boto3.client("elbv2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = []
    for n, zone in enumerate(ZONES):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        meta = json.dumps({"purpose": "internal", "target": "ec2"})
        ec2.create_tags(Resources=[subnet], Tags=[{"Key": "immutable_metadata", "Value": meta}])
        subnets.append(subnet)
    group = ec2.create_security_group(GroupName="demo", Description="demo", VpcId=vpc)["GroupId"]
    image = ec2.register_image(Name="demo-1.0.0", RootDeviceName="/dev/sda1")["ImageId"]
    ec2.create_tags(Resources=[image], Tags=[{"Key": "appversion", "Value": "1.0.0"}])
    alb = elbv2.create_load_balancer(Name="demo-frontend", Subnets=subnets, SecurityGroups=[group])
    target = elbv2.create_target_group(Name="demo-web", Protocol="HTTP", Port=8080, VpcId=vpc)
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target["TargetGroups"][0]["TargetGroupArn"]}],
    )
    ec2.close()
    elbv2.close()
    return {"securityGroup": group, "image": image, "targetGroup": "demo-web"}


def pipelines(world: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    cluster = {
        "application": "demo",
        "stack": "web",
        "account": "aws-local",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: ZONES},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": [world["securityGroup"]],
        "targetGroups": [world["targetGroup"]],
    }
    where = {"cloudProvider": "aws", "credentials": "aws-local", "regions": [REGION], "cluster": "demo-web"}
    first = {
        "application": "demo",
        "name": "first deploy",
        "stages": [
            {
                "refId": "1",
                "type": "deploy",
                "name": "Deploy v000",
                "clusters": [{**cluster, "imageId": world["image"]}],
            }
        ],
    }
    release = {
        "application": "demo",
        "name": "release",
        "stages": [
            {
                "refId": "find",
                "type": "findImageFromTags",
                "name": "Find image",
                "packageName": "demo",
                "tags": {"appversion": "1.0.0"},
                "regions": [REGION],
                "cloudProvider": "aws",
                "credentials": "aws-local",
            },
            {
                "refId": "bake",
                "requisiteStageRefIds": ["find"],
                "type": "bake",
                "name": "Bake",
                "package": "demo_1.1.0-h2_all",
                "baseOs": "xenial",
                "regions": [REGION],
                "cloudProviderType": "aws",
                "account": "aws-local",
                "storeType": "ebs",
                "vmType": "hvm",
            },
            {
                "refId": "deploy",
                "requisiteStageRefIds": ["bake"],
                "type": "deploy",
                "name": "Deploy (red/black)",
                "clusters": [{**cluster, "strategy": "redblack"}],
            },
            {
                "refId": "resize",
                "requisiteStageRefIds": ["deploy"],
                "type": "resizeServerGroup",
                "name": "Resize",
                **where,
                "target": "current_asg_dynamic",
                "action": "scale_up",
                "scaleNum": 1,
            },
            {
                "refId": "disable",
                "requisiteStageRefIds": ["resize"],
                "type": "disableServerGroup",
                "name": "Disable old",
                **where,
                "target": "ancestor_asg_dynamic",
            },
            {
                "refId": "destroy",
                "requisiteStageRefIds": ["disable"],
                "type": "destroyServerGroup",
                "name": "Destroy old",
                **where,
                "target": "ancestor_asg_dynamic",
            },
        ],
    }
    return first, release


def report_images(done: dict[str, Any]) -> None:
    """What was baked, and what the red/black deploy took."""
    stages = {s["name"]: s for s in done["stages"]}
    for detail in (stages.get("Bake") or {}).get("outputs", {}).get("deploymentDetails", []):
        print(f"baked {detail['imageId']} ({detail['imageName']}) from {detail.get('baseAmiId')} in {detail['region']}")
    for plan in (stages.get("Deploy (red/black)") or {}).get("context", {}).get("deploy.plan", []):
        print(f"deployed {plan.get('serverGroupName')} with {plan.get('imageId')}")


def main() -> int:
    from moto.server import ThreadedMotoServer

    from core.settings import Settings, TemporalSettings
    from core.settings.bakery import BakerySettings
    from core.store import Store
    from gennaker import demo_canary
    from gennaker.client import Client
    from gennaker.demo_k8s import pipeline as k8s_pipeline
    from gennaker.demo_k8s import start_local_cluster
    from gennaker.devserver import DevServer
    from gennaker.localstack import ServedApi, free_port

    if shutil.which("packer") is None:
        print(NO_PACKER, file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request otherwise
    with tempfile.TemporaryDirectory(prefix="gennaker-demo-") as tmp:
        moto_port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        endpoint = f"http://127.0.0.1:{moto_port}"
        kube = ExitStack()  # k8s-local, where the kube-apiserver has been built
        k8s_account = start_local_cluster(Path(tmp) / "kube", kube)
        canary = kube.enter_context(demo_canary.serve(Path(tmp) / "canary")) if shutil.which("prometheus") else None
        account = {
            "name": "aws-local",
            "type": "aws",
            "regions": [REGION],
            "accessKeyId": KEY_ID,
            "secretAccessKey": SECRET,
            "endpointUrl": endpoint,
        }
        images_file = Path(tmp) / "images.yml"
        settings = Settings(
            state_dir=Path(tmp),
            task_queue="gennaker-demo",
            accounts=[account, *([k8s_account] if k8s_account else [])],
            bakery=BakerySettings(images_file=images_file, poll_interval_s=1),
            **({"canary": {"accounts": [canary.account()]}} if canary else {}),  # type: ignore[arg-type]
        )
        server = DevServer(settings, port=free_port(), ui_port=free_port(), db_file=Path(tmp) / "temporal.db")
        server.start()
        settings = settings.model_copy(update={"temporal": TemporalSettings(address=server.address)})
        store = Store(settings.store_url)
        store.migrate()
        try:
            world = build_world(endpoint)
            images_file.write_text(demo_images())
            first, release = pipelines(world)
            with ServedApi(settings, store) as api, Client(api.url) as gate:
                gate.save_application("demo", email="demo@example.com")
                for config in (first, release):
                    gate.save_pipeline(config)
                if k8s_account:
                    gate.save_pipeline(k8s_pipeline("demo"))
                print(f"moto (aws-local): {endpoint}   API: {api.url}   Temporal UI: {server.ui_url}")
                bootstrap = gate.run("demo", "first deploy", timeout=300)
                print(f"first deploy: {bootstrap['status']}")
                done = gate.run("demo", "release", timeout=300)
                print(f"execution {done['id']}: {done['status']}")
                for stage in done["stages"]:
                    print(f"  {stage['status']:<10} {stage['name']}")
                    error = ((stage.get("context") or {}).get("exception") or {}).get("details", {}).get("error")
                    if error and stage["status"] != "SUCCEEDED":
                        print("             " + str(error).replace("\n", "\n             "))
                report_images(done)
                k8s_ok = True
                if k8s_account:
                    k8s = gate.run("demo", "k8s release", timeout=300)
                    print(f"k8s release {k8s['id']}: {k8s['status']}")
                    k8s_ok = k8s["status"] == "SUCCEEDED"
                canary_ok = True  # the canary part, where Debian's prometheus is installed
                if canary is not None:
                    demo_canary.save(gate, "demo")
                    canary_ok = demo_canary.run(gate, "demo")
                print(f"Temporal UI: {server.ui_url}/namespaces/default/workflows/{done['id']}")
                return 0 if done["status"] == "SUCCEEDED" and k8s_ok and canary_ok else 1
        finally:
            store.close()
            server.stop()
            moto.stop()
            kube.close()


if __name__ == "__main__":
    sys.exit(main())
