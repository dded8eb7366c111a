"""A kubelet stand-in: the API server reads pod logs by proxying to the kubelet of the pod's node, and the test
cluster runs no kubelet. This one serves the kubelet's ``GET /containerLogs/{namespace}/{pod}/{container}`` over
HTTPS on 127.0.0.1, from logs the test sets, and :meth:`KubeletStandIn.register_node` adds a Node whose
``status.addresses`` (InternalIP 127.0.0.1) and ``status.daemonEndpoints.kubeletEndpoint.port`` point at it.

The API server is started without ``--kubelet-certificate-authority``, so it does not verify this server's
certificate (made by the cluster's own certificate helper). Production code never talks to this server: it reads
logs through the API (``read_namespaced_pod_log``), and the API server comes here.

Tests play the Job controller too: :func:`create_job_pod` makes a pod as the controller would (``job-name`` and
``controller-uid`` labels, an ownerReference), bound to the node, and :func:`finish_job` writes the pod's and the
Job's ``/status``.
"""

from __future__ import annotations

import datetime
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.k8s.cluster import make_certs


class KubeletStandIn:
    """An HTTPS server answering the kubelet's container-log endpoint; ``logs[(ns, pod, container)] = text``."""

    def __init__(self, workdir: Path) -> None:
        self.logs: dict[tuple[str, str, str], str] = {}
        self.requests: list[str] = []
        certs = make_certs(workdir)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's spelling
                path = urllib.parse.urlsplit(self.path).path
                standin.requests.append(self.path)
                parts = path.strip("/").split("/")
                text = None
                if len(parts) == 4 and parts[0] == "containerLogs":
                    text = standin.logs.get((parts[1], parts[2], parts[3]))
                if text is None:
                    self.send_error(404, "no such container log")
                    return
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="kubelet-standin", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def register_node(self, api: Any, name: str = "standin-node") -> str:
        """Create (or update) a Node pointing at this server; returns its name."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        core = client.CoreV1Api(api)
        try:
            core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name)))
        except ApiException as err:
            if err.status != 409:
                raise
        core.patch_node_status(
            name,
            {
                "status": {
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                }
            },
        )
        return name


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_job_pod(api: Any, namespace: str, job: dict[str, Any], node: str, suffix: str = "x1") -> str:
    """A pod for ``job`` as the Job controller makes one (labels, ownerReference, the template's containers), bound to
    ``node``; returns its name."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    meta = job["metadata"]
    template = job["spec"]["template"]
    labels = {**(template.get("metadata", {}).get("labels") or {}), "controller-uid": meta["uid"]}
    labels["job-name"] = meta["name"]
    name = f"{meta['name']}-{suffix}"
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {**template["spec"], "nodeName": node},
    }
    core.create_namespaced_pod(namespace, pod)  # type: ignore[arg-type]  # the client takes plain JSON too
    return name


def finish_job(
    api: Any, namespace: str, job_name: str, pod: str, *, succeeded: bool, exit_code: int = 0, message: str = ""
) -> None:
    """Write the pod's and the Job's ``/status`` as kubelet and Job controller would when the pod ended."""
    from kubernetes import client

    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    found = core.read_namespaced_pod(pod, namespace)
    assert found.spec is not None
    now = _now()
    core.patch_namespaced_pod_status(
        pod,
        namespace,
        {
            "status": {
                "phase": "Succeeded" if succeeded else "Failed",
                "containerStatuses": [
                    {
                        "name": c.name,
                        "image": c.image,
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "terminated": {
                                "exitCode": exit_code,
                                "reason": "Completed" if succeeded else "Error",
                                "message": message or None,
                                "startedAt": now,
                                "finishedAt": now,
                            }
                        },
                    }
                    for c in found.spec.containers
                ],
            }
        },
    )
    condition = (
        {"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}
        if succeeded
        else {
            "type": "Failed",
            "status": "True",
            "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
            "lastProbeTime": now,
            "lastTransitionTime": now,
        }
    )
    status: dict[str, Any] = {"startTime": now, "conditions": [condition]}
    status["succeeded" if succeeded else "failed"] = 1
    if succeeded:
        status["completionTime"] = now
    batch.patch_namespaced_job_status(job_name, namespace, {"status": status})
