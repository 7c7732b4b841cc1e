"""The workshop-start burst, measured side by side on this machine (make bench).

Everything runs on the same cores at the same bcrypt cost: the raw hash rate (one process per core,
nothing else running: the limit), then the app under gunicorn (workers = cores) with cluster sync on
against the real test API server, and the naive baseline of bench/naive.py, each taking the same burst.
Prints a table and writes the figures as JSON.

    python -m bench.burst [--n 200] [--clients 50] [--dash-n 50] [--json bench-results.json]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing
import os
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from app import htpasswd, roster
from app.roster import Registration
from tests.deploy import Deployment
from tests.helpers import FORM_FIELDS, SecretWatch, users_in_secret
from tests.kube import TestCluster, build
from tests.operator_standin import OperatorStandIn
from tests.servers import PROCESSES, children, gunicorn

ROUNDS = 10
COMMIT_INTERVAL = 1.0
ROLLOUT = 3.0  # seconds per stand-in OAuth rollout


def attendee(tag: str, number: int) -> dict:
    return {"username": f"{tag}-{number}", "password": "velvet otter marmalade quince",
            "password_confirm": "velvet otter marmalade quince", "full_name": f"Attendee {number}",
            "email": f"{tag}{number}@example.com"}


# --- The limit: bcrypt alone ---------------------------------------------------------------------------

def _hash_for(seconds: float) -> int:
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        htpasswd.make_entry("someone", "velvet otter marmalade quince", ROUNDS)
        done += 1
    return done


def raw_hash_rate(cores: int, seconds: float = 5.0) -> dict:
    """Hashes per second with one process per core and nothing else (the most the app could do)."""
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        counts = pool.map(_hash_for, [seconds] * cores)
    single = _hash_for(2.0) / 2.0
    return {"hashes_per_second": sum(counts) / seconds, "hash_seconds": 1 / single}


# --- Load ------------------------------------------------------------------------------------------------

def together(items: list, clients: int, act, per_client=lambda: None) -> tuple[list[tuple], float]:
    """Do `act(own, item)` for every item from `clients` threads started at once (`own`: what
    `per_client()` made for that thread, say a session); each item's result and seconds, and the wall time."""
    jobs: queue.Queue = queue.Queue()
    for item in items:
        jobs.put(item)
    results: list[tuple] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client():
        own = per_client()
        start.wait()
        while True:
            try:
                item = jobs.get_nowait()
            except queue.Empty:
                return
            began = time.monotonic()
            result = act(own, item)
            with lock:
                results.append((item, result, time.monotonic() - began))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return results, time.monotonic() - began


def burst(send, count: int, clients: int) -> dict:
    """Send `count` registrations from `clients` threads at once; statuses, latencies and wall time."""
    def one(session, number):
        try:
            return send(session, number)
        except requests.RequestException:
            return 0

    results, wall = together(list(range(count)), clients, one, requests.Session)
    latencies = [r[2] for r in results]
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"count": count, "clients": clients, "wall_seconds": wall, "per_second": count / wall,
            "p50": q[49], "p95": q[94], "p99": q[98],
            "created": sorted(n for n, status, _ in results if status == 201),
            "statuses": {str(s): sum(1 for r in results if r[1] == s) for s in sorted({r[1] for r in results})}}


def api_sender(base: str, tag: str):
    def send(session, number):
        return session.post(base + "/api/v1/registrations", json=attendee(tag, number), timeout=120).status_code
    return send


def page_sender(base: str, tag: str):
    """Registrations through the page's own Dash callback route, with the body the browser sends."""
    dependency = requests.get(base + "/_dash-dependencies", timeout=10).json()[0]
    specs = [spec.rsplit(".", 1) for spec in dependency["output"].strip(".").split("...")]

    def send(session, number):
        form = attendee(tag, number)
        body = {"output": dependency["output"], "outputs": [{"id": i, "property": p} for i, p in specs],
                "inputs": [{"id": "registration-form", "property": "n_submit", "value": 1}],
                "changedPropIds": ["registration-form.n_submit"],
                "state": [{"id": i, "property": "value", "value": form[name]} for i, name in FORM_FIELDS]}
        response = session.post(base + "/_dash-update-component", json=body, timeout=120)
        return 201 if f"Account {form['username']} registered." in response.text else response.status_code
    return send


def metric(base: str, name: str, labels: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    found = re.search(r"^" + re.escape(name) + r"\{" + re.escape(labels) + r"\} ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def check(deployment: Deployment, created_names: list[str], records: bool, wait: float = 120.0) -> dict:
    """Lost users (told registered, missing from the records, or from the Secret once every pending login
    had the time to be written) and duplicated lines; how long the last one took to be written."""
    began = time.monotonic()
    while time.monotonic() - began < wait and not set(created_names) <= set(users_in_secret(deployment)):
        time.sleep(0.1)
    lines = users_in_secret(deployment)
    in_secret = set(lines)
    lost = [name for name in created_names if name not in in_secret]
    if records:
        stored = {r.username for r in roster.parse_store(deployment.registrations())}
        lost += [name for name in created_names if name not in stored]
    duplicated = len(lines) - len(in_secret)
    return {"lost": len(set(lost)), "duplicated": duplicated, "all_written_after": time.monotonic() - began}


# --- Scenarios -------------------------------------------------------------------------------------------

def run_burst(kube: TestCluster, workdir: Path, app: str, tag: str, count: int, clients: int, cores: int,
              dash_count: int = 0) -> dict:
    deployment = Deployment.apply(kube, workdir / tag)
    deployment.create_htpasswd(b"")
    env = deployment.app_env(workdir / tag / "data", BCRYPT_ROUNDS=str(ROUNDS), COMMIT_INTERVAL=str(COMMIT_INTERVAL),
                             REFRESH_INTERVAL="5")
    operator = OperatorStandIn(kube, deployment.secret_name, rollout_seconds=ROLLOUT).start()
    with contextlib.ExitStack() as stack:
        stack.callback(operator.stop)
        base = stack.enter_context(gunicorn(env, workers=cores, app=app, log_path=workdir / f"{tag}.log"))
        for number in range(2):  # warm-up, not measured
            requests.post(base + "/api/v1/registrations", json=attendee(f"{tag}-warm", number), timeout=60)
        operator.wait_idle()  # the warm-up's rollout is over: the burst starts on a quiet cluster
        time.sleep(COMMIT_INTERVAL + 0.5)
        is_app = app == "wsgi:application"
        rollouts_before = len(operator.rollouts)
        before = metric(base, "workshop_secret_writes_total", 'document="logins"') if is_app else 0
        writes = SecretWatch(deployment)
        cpu = CpuCount({"workers": children(PROCESSES[base].pid), "API server": [kube.apiserver.pid],
                        "etcd": [kube.etcd.pid], "bench process": [os.getpid()]})
        result = burst(api_sender(base, tag), count, clients)
        result["cpu_ms"] = cpu.per(count)
        names = [f"{tag}-{n}" for n in result.pop("created")]
        result["created_count"] = len(names)
        result.update(check(deployment, names, records=is_app))
        versions = writes.stop()
        result["secret_writes"] = len(versions)
        result["distinct_resource_versions"] = len(set(versions))
        result["writes_per_registration"] = len(versions) / count
        if is_app:
            result["metrics_writes"] = metric(base, "workshop_secret_writes_total", 'document="logins"') - before
        burst_rollouts = operator.rollouts[rollouts_before:]
        result["rollouts"], result["superseded"] = len(burst_rollouts), sum(r.superseded for r in burst_rollouts)
        if dash_count:
            time.sleep(COMMIT_INTERVAL + 0.5)
            page = burst(page_sender(base, f"{tag}-page"), dash_count, min(clients, 20))
            page_names = [f"{tag}-page-{n}" for n in page.pop("created")]
            page["created_count"] = len(page_names)
            page.update(check(deployment, page_names, records=True))
            result["page"] = page
    return result


def lone_latency(kube: TestCluster, workdir: Path, existing: int, cores: int, tries: int = 7) -> dict:
    """A lone registration after a quiet interval, with `existing` users already in both Secrets."""
    deployment = Deployment.apply(kube, workdir / f"lone-{existing}")
    long_ago = datetime.now(timezone.utc) - timedelta(days=1)
    fake = "$2y$10$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"
    names = [f"existing-{i:05d}" for i in range(existing)]
    deployment.create_htpasswd(b"".join(f"{n}:{fake}\n".encode() for n in names))
    if existing:
        rows = [Registration(n, f"Existing {n}", f"{n}@example.com", long_ago.replace(microsecond=0)) for n in names]
        deployment.core.patch_namespaced_secret("workshop-registrations", deployment.namespace, {"data": {
            "registrations.csv": base64.b64encode(roster.render_store(rows).encode()).decode()}})
    env = deployment.app_env(workdir / f"lone-{existing}" / "data", BCRYPT_ROUNDS=str(ROUNDS),
                             COMMIT_INTERVAL=str(COMMIT_INTERVAL), REFRESH_INTERVAL="5")
    latencies = []
    with gunicorn(env, workers=cores) as base:
        session = requests.Session()
        session.post(base + "/api/v1/registrations", json=attendee(f"lone{existing}-warm", 0), timeout=60)
        for number in range(tries):
            time.sleep(COMMIT_INTERVAL + 0.3)
            began = time.monotonic()
            status = session.post(base + "/api/v1/registrations", json=attendee(f"lone{existing}", number),
                                  timeout=60).status_code
            latencies.append(time.monotonic() - began)
            assert status == 201, status
    return {"existing": existing, "median": statistics.median(latencies), "max": max(latencies),
            "secret_bytes": len(deployment.htpasswd())}


def measure(kube: TestCluster, workdir: Path, count: int, clients: int, dash_count: int, cores: int) -> dict:
    """The raw hash rate, the burst against the app and the naive baseline, and lone registrations."""
    print(f"measuring the raw bcrypt rate on {cores} cores (cost {ROUNDS})...", file=sys.stderr)
    limit = raw_hash_rate(cores)
    print("burst against the app...", file=sys.stderr)
    app = run_burst(kube, workdir, "wsgi:application", "app", count, clients, cores, dash_count)
    print("burst against the naive baseline...", file=sys.stderr)
    naive = run_burst(kube, workdir, "bench.naive:application", "naive", count, clients, cores)
    print("lone registrations...", file=sys.stderr)
    lone = [lone_latency(kube, workdir, existing, cores) for existing in (0, 10_000)]
    results = {"machine": {"cores": cores, "bcrypt_cost": ROUNDS, "commit_interval": COMMIT_INTERVAL,
                           "when": roster.format_time(roster.now())},
               "limit": limit, "app": app, "naive": naive, "lone": lone}
    results["table"] = table(results)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--dash-n", type=int, default=50)
    parser.add_argument("--json", default="bench-burst.json")
    args = parser.parse_args()
    kube = TestCluster(build(), Path(tempfile.mkdtemp(prefix="bench-kube-")))
    kube.start()
    try:
        results = measure(kube, Path(tempfile.mkdtemp(prefix="bench-")), args.n, args.clients, args.dash_n,
                          os.cpu_count() or 1)
    finally:
        kube.stop()
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(results["table"])
    return 0


class CpuCount:
    """CPU seconds (user + system, from /proc) spent by groups of processes since it was made."""

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups
        self.started, self.at = self._now(), time.monotonic()

    def _now(self) -> dict[str, float]:
        return {name: sum(_cpu_seconds(pid) for pid in pids) for name, pids in self.groups.items()}

    def per(self, count: int) -> dict[str, float]:
        """Milliseconds of CPU per registration for each group, and how busy the cores were."""
        now, wall = self._now(), time.monotonic() - self.at
        spent = {name: (now[name] - self.started[name]) * 1000 / count for name in now}
        spent["busy"] = sum(now[n] - self.started[n] for n in now) / (wall * (os.cpu_count() or 1))
        return spent


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def table(r: dict) -> str:
    limit = r["limit"]["hashes_per_second"]
    app, naive, page = r["app"], r["naive"], r["app"].get("page", {})
    hash_ms = r["limit"]["hash_seconds"] * 1000
    rows = [
        ("", "app", "naive", "app / naive"),
        ("registrations/s", f"{app['per_second']:.1f}", f"{naive['per_second']:.1f}",
         f"{app['per_second'] / naive['per_second']:.2f}"),
        ("  / raw hash rate", f"{app['per_second'] / limit:.2f}", f"{naive['per_second'] / limit:.2f}", ""),
        ("latency p50 (s)", f"{app['p50']:.2f}", f"{naive['p50']:.2f}", f"{app['p50'] / naive['p50']:.2f}"),
        ("latency p95 (s)", f"{app['p95']:.2f}", f"{naive['p95']:.2f}", f"{app['p95'] / naive['p95']:.2f}"),
        ("latency p99 (s)", f"{app['p99']:.2f}", f"{naive['p99']:.2f}", f"{app['p99'] / naive['p99']:.2f}"),
        ("htpasswd Secret writes", str(app["secret_writes"]), str(naive["secret_writes"]), ""),
        ("  per registration", f"{app['writes_per_registration']:.3f}", f"{naive['writes_per_registration']:.3f}",
         f"{app['writes_per_registration'] / max(naive['writes_per_registration'], 1e-9):.3f}"),
        ("created / lost / duplicated", f"{app['created_count']} / {app['lost']} / {app['duplicated']}",
         f"{naive['created_count']} / {naive['lost']} / {naive['duplicated']}", ""),
        ("all written after the last answer (s)", f"{app['all_written_after']:.1f}",
         f"{naive['all_written_after']:.1f}", ""),
        ("OAuth rollouts / superseded", f"{app['rollouts']} / {app['superseded']}",
         f"{naive['rollouts']} / {naive['superseded']}", ""),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"Burst of {app['count']} registrations from {app['clients']} clients, {r['machine']['cores']} cores, "
             f"bcrypt cost {r['machine']['bcrypt_cost']}; raw hash rate {limit:.1f}/s "
             f"({hash_ms:.0f} ms per hash); stand-in OAuth rollouts of {ROLLOUT:g} s; latency = time to \"registered\""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)) for row in rows]
    cpu = app["cpu_ms"]
    total = sum(v for k, v in cpu.items() if k != "busy")
    lines.append("CPU per registration (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if k != "busy")
                 + f"; total {total:.1f} against {hash_ms:.1f} per raw hash: at most "
                 f"{hash_ms / total:.2f} of the raw rate with the cores always busy; they were "
                 f"{cpu['busy'] * 100:.0f} % busy")
    lines.append(f"writes cross-checked: watch {app['secret_writes']}, resourceVersions "
                 f"{app['distinct_resource_versions']}, /metrics {app.get('metrics_writes', 0):.0f}")
    if page:
        lines.append(f"through the page's callback route: {page['count']} registrations, {page['per_second']:.1f}/s, "
                     f"p50 {page['p50']:.2f}s, p95 {page['p95']:.2f}s, created {page['created_count']}, "
                     f"lost {page['lost']}, duplicated {page['duplicated']}")
    for lone in r["lone"]:
        lines.append(f"lone registration with {lone['existing']:>6} users in the Secret "
                     f"({lone['secret_bytes'] / 1024:.0f} KiB): median {lone['median'] * 1000:.0f} ms, "
                     f"max {lone['max'] * 1000:.0f} ms (target: hash + 300 = {hash_ms + 300:.0f} ms)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
