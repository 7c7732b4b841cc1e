"""The workshop trickle: attendees arriving over a compressed "15 minutes", against three publishing
policies side by side, each with the STAND-IN authentication operator (tests/operator_standin.py) rolling
out the OAuth server for R seconds after every htpasswd write, as the real one does:

- naive: one htpasswd write per registration (bench/naive.py);
- interval: the app writing at most once per COMMIT_INTERVAL, blind to rollouts (its Role to read the
  OAuth Deployment removed, UNSEEN_ROLLOUT_INTERVAL = COMMIT_INTERVAL: the previous release's policy);
- rollout-aware: the app as shipped;
- basic-auth: the app with instant logins (extras/basic-auth): OpenShift's OAuth server asks it at every
  login (its client's STAND-IN, tests/basicauth_standin.py, over TLS with a client certificate); "login
  works" is then the first login the remote accepts, asked every 50 ms from the arrival on.

The same arrivals (a Poisson process, one seed) go to each. Reported: rollouts started and superseded,
time to "registered" (the answer), time to "login works" (the end of the first completed rollout that
serves the attendee's line), and the login outage a single-node cluster would see (each rollout takes its
one OAuth pod away for U seconds from its start; overlaps counted once).

    python -m bench.trickle [--n 200] [--minutes 15] [--compress 30] [--rollout 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from app import htpasswd
from bench.burst import attendee
from tests.deploy import Deployment
from tests.kube import TestCluster, build
from tests.operator_standin import NAMESPACE, OperatorStandIn, outage_seconds
from tests.servers import gunicorn

COMMIT_INTERVAL = 1.0
POLICIES = ("naive", "interval", "rollout-aware", "basic-auth")


def arrivals(count: int, duration: float, seed: int = 15) -> list[float]:
    """Arrival offsets (seconds) of a Poisson process of `count` attendees over about `duration`."""
    rng = random.Random(seed)
    at, times = 0.0, []
    for _ in range(count):
        at += rng.expovariate(count / duration)
        times.append(at)
    return times


def run(kube: TestCluster, workdir: Path, policy: str, offsets: list[float], rollout: float, cores: int) -> dict:
    if policy == "basic-auth":
        return run_basic_auth(kube, workdir, offsets, rollout, cores)
    deployment = Deployment.apply(kube, workdir / policy)
    deployment.create_htpasswd(b"")
    operator = OperatorStandIn(kube, deployment.secret_name, rollout_seconds=rollout).start()
    env = deployment.app_env(workdir / policy / "data", BCRYPT_ROUNDS="10", COMMIT_INTERVAL=str(COMMIT_INTERVAL),
                             UNSEEN_ROLLOUT_INTERVAL=str(COMMIT_INTERVAL), REFRESH_INTERVAL="2")
    if policy == "interval":
        kube.kubectl("delete", "rolebinding", f"workshop-registration-oauth-rollout.{deployment.namespace}",
                     "-n", NAMESPACE)
    app = "bench.naive:application" if policy == "naive" else "wsgi:application"
    tag = policy.replace("-", "")
    answers: dict[str, tuple[float, float, int]] = {}  # username -> (arrived, answered, status)
    try:
        with gunicorn(env, workers=cores, app=app, log_path=workdir / f"{policy}.log") as base:
            began = arrive(offsets, lambda number: _register(base, tag, number, answers))
            registered = sorted(name for name, (_, _, status) in answers.items() if status == 201)
            deadline = time.monotonic() + 600
            while not set(registered) <= set(htpasswd.entries(operator.served())):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            operator.wait_idle(timeout=600)
            ended = time.monotonic()
    finally:
        operator.stop()
    rollouts = list(operator.rollouts)
    works = _login_works(rollouts, answers, registered)
    served = set(htpasswd.entries(operator.served()))
    registering = [answered - arrived for arrived, answered, status in answers.values() if status == 201]
    duration = offsets[-1]
    return {
        "policy": policy, "arrivals": len(offsets), "registered": len(registered),
        "lost": len(set(registered) - served), "duration_seconds": duration, "drain_seconds": ended - began - duration,
        "rollouts": len(rollouts), "superseded": sum(r.superseded for r in rollouts),
        "rollout_bound": math.ceil(duration / rollout) + 1,
        "registered_p50": _quantile(registering, 50), "registered_p95": _quantile(registering, 95),
        "works_p50": _quantile(works, 50), "works_p95": _quantile(works, 95), "works_max": max(works, default=0.0),
        "outage_seconds": outage_seconds(rollouts, rollout / 2),
    }


def run_basic_auth(kube: TestCluster, workdir: Path, offsets: list[float], rollout: float, cores: int) -> dict:
    """The trickle against instant logins: each attendee registers, then logs in through the remote."""
    from bench.logins import basic_auth_env, oauth_client, pki

    deployment = Deployment.apply(kube, workdir / "basic-auth", ("basic-auth",))
    deployment.create_htpasswd(b"")  # what the stand-in operator watches: nothing here ever writes it
    operator = OperatorStandIn(kube, deployment.secret_name, rollout_seconds=rollout).start()
    keys = pki(workdir / "basic-auth" / "pki")
    env = basic_auth_env(deployment, workdir / "basic-auth" / "data", keys, BCRYPT_ROUNDS="10",
                         COMMIT_INTERVAL=str(COMMIT_INTERVAL), REFRESH_INTERVAL="2")
    answers: dict[str, tuple[float, float, int]] = {}
    works: dict[str, float] = {}
    ca = str(keys["service_ca"].cert)
    try:
        with gunicorn(env, workers=cores, scheme="https", verify=ca, log_path=workdir / "basic-auth.log") as base:
            client = oauth_client(base, keys)

            def attendee_arrives(number: int) -> None:
                _register(base, "basicauth", number, answers, verify=ca)
                name = f"basicauth-{number}"
                arrived, _, status = answers[name]
                deadline = arrived + 60
                while status == 201 and time.monotonic() < deadline:
                    if client.authenticate(name, attendee("basicauth", number)["password"])[0]:
                        works[name] = time.monotonic() - arrived
                        return
                    time.sleep(0.05)

            began = arrive(offsets, attendee_arrives)
            ended = time.monotonic()
    finally:
        operator.stop()
    registered = [name for name, (_, _, status) in answers.items() if status == 201]
    registering = [answered - arrived for arrived, answered, status in answers.values() if status == 201]
    waits = list(works.values())
    duration = offsets[-1]
    return {
        "policy": "basic-auth", "arrivals": len(offsets), "registered": len(registered),
        "lost": len(set(registered) - set(works)), "duration_seconds": duration,
        "drain_seconds": ended - began - duration, "rollouts": len(operator.rollouts),
        "superseded": sum(r.superseded for r in operator.rollouts), "rollout_bound": math.ceil(duration / rollout) + 1,
        "registered_p50": _quantile(registering, 50), "registered_p95": _quantile(registering, 95),
        "works_p50": _quantile(waits, 50), "works_p95": _quantile(waits, 95), "works_max": max(waits, default=0.0),
        "outage_seconds": outage_seconds(operator.rollouts, rollout / 2),
    }


def arrive(offsets: list[float], attendee) -> float:
    """Each attendee number arrives at its offset from now (`attendee(number)` in a thread of its own);
    returns when everyone has been served, with when the first could arrive (monotonic)."""
    began = time.monotonic()
    threads = []
    for number, offset in enumerate(offsets):
        delay = began + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=attendee, args=(number,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return began


def _register(base: str, tag: str, number: int, answers: dict, verify: str | bool = True) -> None:
    arrived = time.monotonic()
    try:
        status = requests.post(base + "/api/v1/registrations", json=attendee(tag, number), timeout=300,
                               verify=verify).status_code
    except requests.RequestException:
        status = 0
    answers[f"{tag}-{number}"] = (arrived, time.monotonic(), status)


def _login_works(rollouts, answers, registered) -> list[float]:
    """For each registered attendee: from arrival until the first completed rollout that serves their line."""
    done = sorted((r.finished, set(htpasswd.entries(r.content))) for r in rollouts if r.finished is not None)
    waits = []
    for name in registered:
        arrived = answers[name][0]
        finished = next((at for at, names in done if name in names and at >= arrived), None)
        if finished is not None:
            waits.append(finished - arrived)
    return waits


def _quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[q - 1]


def table(results: list[dict], rollout: float, compress: float, minutes: float) -> str:
    rows = [("", *[r["policy"] for r in results])]
    metrics = [
        ("registered / lost", lambda r: f"{r['registered']} / {r['lost']}"),
        ("rollouts started", lambda r: f"{r['rollouts']} (bound {r['rollout_bound']})"),
        ("rollouts superseded", lambda r: str(r["superseded"])),
        ("registered p50 / p95 (s)", lambda r: f"{r['registered_p50']:.2f} / {r['registered_p95']:.2f}"),
        ("login works p50 / p95 (s)", lambda r: f"{r['works_p50']:.2f} / {r['works_p95']:.2f}"),
        ("login works max (s)", lambda r: f"{r['works_max']:.2f}"),
        ("single-node outage (s)", lambda r: f"{r['outage_seconds']:.1f} of {r['duration_seconds']:.0f}"),
    ]
    rows += [(name, *[cell(r) for r in results]) for name, cell in metrics]
    width = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    target = 2 * rollout + COMMIT_INTERVAL + 5
    head = (f"Trickle of {results[0]['arrivals']} attendees over a compressed {minutes:g} minutes "
            f"({results[0]['duration_seconds']:.0f} s, x{compress:g}); stand-in rollouts of R = {rollout:g} s, "
            f"each taking a single node's OAuth pod away for {rollout / 2:g} s")
    lines = [head] + ["  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)) for row in rows]
    lines.append(f"targets: 0 superseded; rollouts <= duration / R + 1; login works p95 <= 2R + COMMIT_INTERVAL + 5 "
                 f"= {target:g} s")
    return "\n".join(lines)


def measure(kube: TestCluster, workdir: Path, count: int, minutes: float, compress: float, rollout: float,
            cores: int) -> dict:
    offsets = arrivals(count, minutes * 60 / compress)
    results = []
    for policy in POLICIES:
        print(f"trickle against the {policy} policy...", file=sys.stderr)
        results.append(run(kube, workdir, policy, offsets, rollout, cores))
    return {"count": count, "minutes": minutes, "compress": compress, "rollout_seconds": rollout,
            "policies": results, "table": table(results, rollout, compress, minutes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--compress", type=float, default=30)
    parser.add_argument("--rollout", type=float, default=3.0)
    parser.add_argument("--json", default="bench-trickle.json")
    args = parser.parse_args()
    kube = TestCluster(build(), Path(tempfile.mkdtemp(prefix="bench-kube-")))
    kube.start()
    try:
        result = measure(kube, Path(tempfile.mkdtemp(prefix="bench-")), args.n, args.minutes, args.compress,
                         args.rollout, cores=os.cpu_count() or 1)
    finally:
        kube.stop()
    Path(args.json).write_text(json.dumps(result, indent=2))
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
