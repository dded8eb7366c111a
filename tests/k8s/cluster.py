"""A real Kubernetes API server for tests and for local use: Debian's etcd plus a kube-apiserver.

The kube-apiserver binary is built from Debian's `kubernetes` source package by `scripts/kube-apiserver.sh` and
cached under `${GENNAKER_CACHE:-~/.cache/gennaker}/kube-apiserver/<debian version>/kube-apiserver`; etcd comes
from Debian's `etcd-server`. Nothing is downloaded here.

What runs is the API server alone: no controller-manager, no scheduler, no kubelet. So a Deployment never gets
ReplicaSets or Pods, a deleted namespace stays `Terminating` until its finalizer is removed, and garbage collection
(`propagationPolicy`) does not cascade. Tests move a rollout on by patching the Deployment's `/status` themselves.

Use from pytest: the `kube_cluster` fixture in `tests/k8s/conftest.py`. Use by hand (a cluster for the local stack):

    .venv/bin/python -m tests.k8s.cluster          # prints KUBECONFIG=...; Ctrl-C stops it
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILD_SCRIPT = "scripts/kube-apiserver.sh"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/24"  # only allocated from, never routed: no traffic leaves the machine
ADMIN_USER = "gennaker-admin"


class MissingBinary(RuntimeError):
    """etcd or kube-apiserver is not on this machine; the message says how to get it."""


class ClusterError(RuntimeError):
    """A server did not start or did not become ready; the message carries the tail of its log."""


# --- binaries ---------------------------------------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("GENNAKER_CACHE") or str(Path.home() / ".cache" / "gennaker")
    return Path(base) / "kube-apiserver"


def find_kube_apiserver() -> Path:
    """$GENNAKER_KUBE_APISERVER, else the build cached by scripts/kube-apiserver.sh (its `current`, else the newest)."""
    override = os.environ.get("GENNAKER_KUBE_APISERVER")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            raise MissingBinary(f"GENNAKER_KUBE_APISERVER={override} is not an executable file")
        return path
    root = cache_root()
    candidates = [root / "current" / "kube-apiserver"]
    if root.is_dir():
        builds = [p / "kube-apiserver" for p in root.iterdir() if p.name != "current" and p.is_dir()]
        candidates += sorted(builds, key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise MissingBinary(
        f"no kube-apiserver build under {root}. Build it once from Debian's `kubernetes` source package "
        f"(about 6 minutes on 2 cores, cached afterwards): bash {BUILD_SCRIPT}"
    )


def find_etcd() -> Path:
    override = os.environ.get("GENNAKER_ETCD")
    found = override or shutil.which("etcd") or ("/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None)
    if not found:
        raise MissingBinary(f"etcd not found: apt-get install etcd-server (bash {BUILD_SCRIPT} installs it too)")
    return Path(found)


# --- small helpers ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _parent_death_signal() -> Any:
    """Linux: a preexec_fn giving the child SIGTERM when the Python process that started it dies, even by SIGKILL.

    libc is loaded here, in the parent: the child, between fork and exec, only makes the one prctl call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:  # pragma: no cover - runs in the child
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


# --- certificates -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    service_account_key: Path
    service_account_pub: Path


def make_certs(directory: Path, *, use_openssl: bool | None = None) -> Certs:
    """A CA, a serving cert for 127.0.0.1/localhost signed by it, and a service-account signing key (all EC P-256).

    Uses the `cryptography` package when it is installed, else the openssl command; `use_openssl` forces one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    certs = Certs(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "apiserver.crt",
        server_key=directory / "apiserver.key",
        service_account_key=directory / "service-account.key",
        service_account_pub=directory / "service-account.pub",
    )
    if use_openssl is None:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            use_openssl = True
        else:
            use_openssl = False
    if use_openssl:
        _make_certs_openssl(directory, certs)
    else:
        _make_certs_cryptography(certs)
    for key in (certs.server_key, certs.service_account_key, directory / "ca.key"):
        if key.exists():
            key.chmod(0o600)
    return certs


def _make_certs_cryptography(certs: Certs) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:  # SEC1 "EC PRIVATE KEY": what kube's keyutil reads
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gennaker-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes.default.svc"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = ec.generate_private_key(ec.SECP256R1())
    certs.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certs.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    certs.server_key.write_bytes(pem_key(server_key))
    certs.service_account_key.write_bytes(pem_key(sa_key))
    certs.service_account_pub.write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _make_certs_openssl(directory: Path, certs: Certs) -> None:
    openssl = shutil.which("openssl")
    if not openssl:
        raise MissingBinary("neither the `cryptography` package nor the openssl command is installed")
    ca_key = directory / "ca.key"
    csr = directory / "apiserver.csr"
    ext = directory / "apiserver.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(certs.ca_cert), "-days", "3650",
        "-subj", "/CN=gennaker-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign")  # fmt: skip
    run("req", "-new", *ec, "-keyout", str(certs.server_key), "-out", str(csr), "-subj", "/CN=kube-apiserver")
    run("x509", "-req", "-in", str(csr), "-CA", str(certs.ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "3650", "-sha256", "-extfile", str(ext), "-out", str(certs.server_cert))  # fmt: skip
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(certs.service_account_key))
    run("ec", "-in", str(certs.service_account_key), "-pubout", "-out", str(certs.service_account_pub))
    for key in (certs.server_key, ca_key):  # SEC1 "EC PRIVATE KEY", as the cryptography path writes
        run("ec", "-in", str(key), "-out", str(key))


# --- the cluster --------------------------------------------------------------------------------------------------


@dataclass
class KubeCluster:
    """A running etcd + kube-apiserver. `stop()` (or leaving the `with` block) ends both."""

    workdir: Path
    api_url: str
    token: str
    kubeconfig_path: Path
    ca_cert_path: Path
    etcd_url: str
    version: dict[str, Any] = field(default_factory=dict)
    start_seconds: float = 0.0
    owns_workdir: bool = False  # a temp dir made by start_cluster: removed by stop()
    _procs: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list, repr=False)

    # clients

    def new_api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` loaded from the kubeconfig (as the provider loads a user's kubeconfig)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig_path), persist_config=False)

    def get(self, path: str) -> tuple[int, str]:
        """GET a raw API path (e.g. /readyz) with the admin token; returns (status, body)."""
        return _get(self.api_url + path, self.token, self.ca_cert_path)

    # namespaces

    @contextlib.contextmanager
    def namespace(self, name: str | None = None, *, prefix: str = "test") -> Iterator[str]:
        """Create a namespace (given name, else `<prefix>-<random>`), yield its name, then delete it.

        No namespace controller runs, so deletion also calls `/finalize` to drop the `kubernetes` finalizer; the
        namespace then goes away, while objects left inside it stay in etcd (harmless: etcd's data is temporary).
        """
        from kubernetes import client

        name = name or f"{prefix}-{secrets.token_hex(4)}"
        with self.new_api_client() as api:
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"gennaker.io/test": "true"}))
            )
        try:
            yield name
        finally:
            self.delete_namespace(name)

    def delete_namespace(self, name: str) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        with self.new_api_client() as api:
            core = client.CoreV1Api(api)
            try:
                core.delete_namespace(name)
                core.replace_namespace_finalize(
                    name, client.V1Namespace(metadata=client.V1ObjectMeta(name=name), spec=client.V1NamespaceSpec())
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise

    # lifecycle

    def alive(self) -> bool:
        return all(proc.poll() is None for _, proc, _ in self._procs)

    def logs(self) -> dict[str, Path]:
        return {name: log for name, _, log in self._procs}

    def stop(self) -> None:
        while self._procs:  # apiserver first, then etcd
            _name, proc, _log = self._procs.pop()
            _stop_process(proc)
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KubeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def _get(url: str, token: str | None, cafile: Path | None, timeout: float = 5) -> tuple[int, str]:
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")


def _wait_ready(
    name: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    url: str,
    *,
    token: str | None,
    cafile: Path | None,
    deadline: float,
    ok: str,
) -> None:
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ClusterError(f"{name} exited with code {proc.returncode} before it was ready:\n{_tail(log)}")
        try:
            status, body = _get(url, token, cafile, timeout=2)
            if status == 200 and ok in body:
                return
            last = f"HTTP {status}: {body[:500]}"
        except (OSError, ssl.SSLError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise ClusterError(f"{name} not ready at {url} in time (last answer: {last}):\n{_tail(log)}")


def _spawn(name: str, argv: list[str], workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=_parent_death_signal(),  # only sets the parent-death signal
        )
    return proc, log


def start_cluster(workdir: Path | None = None, *, timeout: float = 90, verbosity: int = 1) -> KubeCluster:
    """Start etcd and kube-apiserver on free loopback ports; return once `/readyz` answers ok.

    Raises MissingBinary when a binary is absent, ClusterError when a server fails to come up.
    """
    apiserver = find_kube_apiserver()
    etcd = find_etcd()
    started = time.monotonic()
    deadline = started + timeout
    owns_workdir = workdir is None
    workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gennaker-kube-"))
    workdir.mkdir(parents=True, exist_ok=True)

    certs = make_certs(workdir / "pki")
    token = secrets.token_urlsafe(32)
    tokens = workdir / "tokens.csv"
    tokens.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
    tokens.chmod(0o600)

    cluster = KubeCluster(
        workdir=workdir,
        api_url="",
        token=token,
        kubeconfig_path=workdir / "kubeconfig",
        ca_cert_path=certs.ca_cert,
        etcd_url="",
        owns_workdir=owns_workdir,
    )
    try:
        client_port, peer_port = free_port(), free_port()
        cluster.etcd_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        proc, log = _spawn(
            "etcd",
            [
                str(etcd),
                "--name=gennaker-test",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={cluster.etcd_url}",
                f"--advertise-client-urls={cluster.etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=gennaker-test={peer_url}",
                "--initial-cluster-state=new",
                "--logger=zap",
                "--log-level=warn",
            ],
            workdir,
        )
        cluster._procs.append(("etcd", proc, log))
        _wait_ready(
            "etcd", proc, log, cluster.etcd_url + "/health", token=None, cafile=None, deadline=deadline, ok="true"
        )

        port = free_port()
        cluster.api_url = f"https://127.0.0.1:{port}"
        proc, log = _spawn(
            "kube-apiserver",
            [
                str(apiserver),
                f"--etcd-servers={cluster.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                "--insecure-port=0",
                f"--cert-dir={workdir / 'pki'}",
                f"--tls-cert-file={certs.server_cert}",
                f"--tls-private-key-file={certs.server_key}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                f"--service-account-key-file={certs.service_account_pub}",
                f"--service-account-signing-key-file={certs.service_account_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                # ServiceAccount admission rejects Pods until a controller-manager has made the `default` account.
                "--disable-admission-plugins=ServiceAccount",
                # The endpoint reconciler would publish 127.0.0.1 as the `kubernetes` Service's endpoint, which
                # Endpoints validation refuses (loopback), and log that every 10 seconds.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                f"--v={verbosity}",
            ],
            workdir,
        )
        cluster._procs.append(("kube-apiserver", proc, log))
        _wait_ready(
            "kube-apiserver",
            proc,
            log,
            cluster.api_url + "/readyz",
            token=token,
            cafile=certs.ca_cert,
            deadline=deadline,
            ok="ok",
        )
        _write_kubeconfig(cluster)
        status, body = cluster.get("/version")
        cluster.version = json.loads(body) if status == 200 else {}
        cluster.start_seconds = time.monotonic() - started
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _write_kubeconfig(cluster: KubeCluster) -> None:
    ca_data = base64.b64encode(cluster.ca_cert_path.read_bytes()).decode()
    kubeconfig = {  # JSON is YAML: any kubeconfig reader takes it
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "gennaker-test", "cluster": {"server": cluster.api_url, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": ADMIN_USER, "user": {"token": cluster.token}}],
        "contexts": [
            {
                "name": "gennaker-test",
                "context": {"cluster": "gennaker-test", "user": ADMIN_USER, "namespace": "default"},
            }
        ],
        "current-context": "gennaker-test",
        "preferences": {},
    }
    cluster.kubeconfig_path.write_text(json.dumps(kubeconfig, indent=2) + "\n")
    cluster.kubeconfig_path.chmod(0o600)


def main(argv: list[str] | None = None) -> int:
    """Run a cluster until interrupted; print the kubeconfig path (for the local stack or kubectl)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.k8s.cluster", description=main.__doc__)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where certs, kubeconfig, logs and etcd data go and stay (default: a temp dir, removed on exit)",
    )
    args = parser.parse_args(argv)
    try:
        cluster = start_cluster(args.workdir)  # without --workdir, a temp dir removed on exit
    except (MissingBinary, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    atexit.register(cluster.stop)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    version = cluster.version.get("gitVersion", "?")
    print(f"kube-apiserver {version} ready at {cluster.api_url} in {cluster.start_seconds:.1f}s")
    print(f"KUBECONFIG={cluster.kubeconfig_path}")
    print(f"logs and data: {cluster.workdir}  (Ctrl-C stops etcd and kube-apiserver)", flush=True)
    try:
        while cluster.alive():
            time.sleep(1)
        print("a server exited:", file=sys.stderr)
        for name, log in cluster.logs().items():
            print(f"--- {name} ---\n{_tail(log)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
