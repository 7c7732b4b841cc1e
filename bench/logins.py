"""Instant logins: a room logging in at once through the BasicAuth remote, as OpenShift's OAuth server
asks it (its client's STAND-IN, tests/basicauth_standin.py: GET, Basic, no redirects, the same JSON rules),
over TLS with the OAuth server's client certificate, against the app in cluster mode (extras/basic-auth)
on the test API server. The room's logins are seats the instructor made (`seats create`), each logged in
once (a bcrypt check each), then all again (what the console and `oc login` do: remembered, no bcrypt).

    python -m bench.logins [--n 300] [--clients 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from app import htpasswd
from bench.burst import CpuCount, together
from tests import certs
from tests.basicauth_standin import BasicAuthClient
from tests.deploy import Deployment
from tests.kube import TestCluster, build
from tests.servers import PROCESSES, children, gunicorn

ROUNDS = 10


def _verify_for(seconds: float) -> int:
    line = htpasswd.make_entry("someone", "k7tq-2mzx-8hpa-3nbw", ROUNDS)
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        htpasswd.verify(line, "k7tq-2mzx-8hpa-3nbw")
        done += 1
    return done


def raw_verify_rate(cores: int, seconds: float = 5.0) -> float:
    """bcrypt verifications per second with one process per core and nothing else."""
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        return sum(pool.map(_verify_for, [seconds] * cores)) / seconds


def pki(folder: Path) -> dict:
    """The service CA and serving certificate, and the OAuth server's CA and client certificate."""
    service_ca, oauth_ca = certs.ca(folder, "service-ca"), certs.ca(folder, "oauth-ca")
    return {"service_ca": service_ca, "server": certs.signed(service_ca, folder, "server", "server"),
            "oauth_ca": oauth_ca, "client": certs.signed(oauth_ca, folder, "oauth-client", "client")}


def basic_auth_env(deployment: Deployment, data: Path, keys: dict, **extra: str) -> dict:
    return deployment.app_env(data, IDENTITY_PROVIDER_TYPE="BasicAuth", HTPASSWD_SECRET_NAME="",
                              TLS_CERT_FILE=str(keys["server"].cert), TLS_KEY_FILE=str(keys["server"].key),
                              TLS_CLIENT_CA_FILE=str(keys["oauth_ca"].cert), **extra)


def oauth_client(base: str, keys: dict) -> BasicAuthClient:
    client = keys["client"]
    return BasicAuthClient(base + "/api/v1/basic-auth", ca_file=str(keys["service_ca"].cert),
                           cert=(str(client.cert), str(client.key)))


def room(client: BasicAuthClient, seats: list[tuple[str, str]], clients: int) -> dict:
    """Everyone logs in at once, from `clients` threads; latencies, wall time, failures."""
    def one(_, seat):
        identity, error = client.authenticate(*seat)
        return bool(identity) and error is None

    results, wall = together(list(seats), clients, one)
    q = statistics.quantiles(sorted(r[2] for r in results), n=100)
    return {"count": len(seats), "wall_seconds": wall, "per_second": len(seats) / wall, "p50": q[49], "p95": q[94],
            "failed": sum(1 for r in results if not r[1])}


def measure(kube: TestCluster, workdir: Path, count: int, clients: int, cores: int) -> dict:
    print(f"measuring the raw bcrypt verify rate on {cores} cores...", file=sys.stderr)
    limit = raw_verify_rate(cores)
    deployment = Deployment.apply(kube, workdir / "logins", ("basic-auth",))
    keys = pki(workdir / "pki")
    made = deployment.cli(workdir / "cli", "seats", "create", "--count", str(count), "--prefix", "room",
                          IDENTITY_PROVIDER_TYPE="BasicAuth", HTPASSWD_SECRET_NAME="", SEATS="true",
                          BCRYPT_ROUNDS=str(ROUNDS))
    assert made.returncode == 0, made.stderr
    seats = [(row["username"], row["password"]) for row in csv.DictReader(io.StringIO(made.stdout))]
    env = basic_auth_env(deployment, workdir / "data", keys, BCRYPT_ROUNDS=str(ROUNDS))
    print(f"{count} seats made; the room logs in...", file=sys.stderr)
    with gunicorn(env, workers=cores, scheme="https", verify=str(keys["service_ca"].cert),
                  log_path=workdir / "logins.log") as base:
        client = oauth_client(base, keys)
        client.authenticate(*seats[0])  # warm-up: the worker has read the documents once
        groups = {"workers": children(PROCESSES[base].pid), "API server": [kube.apiserver.pid],
                  "etcd": [kube.etcd.pid], "bench process": [os.getpid()]}
        cpu = CpuCount(groups)
        first = room(client, seats[1:], clients)
        first["cpu_ms"] = cpu.per(len(seats) - 1)
        cpu = CpuCount(groups)
        again = room(client, seats[1:], clients)
        again["cpu_ms"] = cpu.per(len(seats) - 1)
    results = {"limit_verifies_per_second": limit, "first": first, "again": again, "clients": clients, "cores": cores,
               "remembered_microseconds": remembered_cost()}
    results["table"] = table(results)
    return results


def remembered_cost(count: int = 20_000) -> float:
    """Microseconds of the remote's own work for a login remembered in the pod (no HTTP, no TLS): what
    the console's login, then oc login's, costs beyond the request itself."""
    from app.basicauth import Remote
    from app.documents import Documents
    from app.eventstate import EventState
    from app.loginguard import LoginGuard, PodAnswers
    from app.loginlog import LoginLog
    from app.roster import Registration, now, render_store
    from tests.fakes import MemoryDocument, RecordingMirror

    line = htpasswd.make_entry("alice", "k7tq-2mzx-8hpa-3nbw", ROUNDS)
    logins, records = MemoryDocument(), MemoryDocument()
    logins.external_write(line + b"\n")
    records.external_write(render_store([Registration("alice", "Alice", "alice@example.com", now())]).encode())
    documents = Documents(logins, records, RecordingMirror(), max_age=math.inf)
    documents.read()
    folder = Path(tempfile.mkdtemp(prefix="bench-answers-"))
    remote = Remote(documents, LoginGuard(shared=PodAnswers(folder / "logins.sqlite3")),
                    LoginLog(EventState(MemoryDocument(), True, max_age=0)), threading.BoundedSemaphore(1))
    header = "Basic " + base64.b64encode(b"alice:k7tq-2mzx-8hpa-3nbw").decode()
    assert remote.answer(header, True).status == 200  # the first login: one bcrypt check
    other = LoginGuard(shared=PodAnswers(folder / "logins.sqlite3"))  # another worker of the pod
    remote.guard = other
    began = time.perf_counter()
    for _ in range(count):
        remote.answer(header, True)
    return (time.perf_counter() - began) / count * 1e6


def table(r: dict) -> str:
    first, again, limit = r["first"], r["again"], r["limit_verifies_per_second"]
    spent = first["cpu_ms"]
    total = sum(v for k, v in spent.items() if k != "busy")
    verify_ms = 1000 * r["cores"] / limit
    return "\n".join([
        f"A room of {first['count']} logging in at once through the BasicAuth remote ({r['clients']} concurrent "
        f"OAuth-server calls, TLS with its client certificate, cluster mode, bcrypt cost {ROUNDS}, {r['cores']} cores)",
        f"  first logins: {first['per_second']:.1f}/s = {first['per_second'] / limit:.2f} of the raw bcrypt verify "
        f"rate ({limit:.1f}/s; goal >= 0.9); p50 {first['p50'] * 1000:.0f} ms, p95 {first['p95'] * 1000:.0f} ms; "
        f"failed {first['failed']}",
        "  CPU per first login (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in spent.items() if k != "busy")
        + f"; total {total:.1f} against {verify_ms:.1f} per raw verify: at most {verify_ms / total:.2f} of the raw "
        f"rate with the cores always busy; they were {spent['busy'] * 100:.0f} % busy",
        f"  the same logins again (the console, then oc login): {again['per_second']:.0f}/s; p50 "
        f"{again['p50'] * 1000:.1f} ms, p95 {again['p95'] * 1000:.1f} ms; workers {again['cpu_ms']['workers']:.2f} "
        f"ms CPU each, with TLS and HTTP (no bcrypt); the remote's own work {r['remembered_microseconds']:.0f} µs; "
        f"failed {again['failed']}",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--json", default="bench-logins.json")
    args = parser.parse_args()
    kube = TestCluster(build(), Path(tempfile.mkdtemp(prefix="bench-kube-")))
    kube.start()
    try:
        results = measure(kube, Path(tempfile.mkdtemp(prefix="bench-")), args.n + 1, args.clients,
                          os.cpu_count() or 1)
    finally:
        kube.stop()
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(results["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
