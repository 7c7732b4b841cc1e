"""`make bench`: the worst CPU of one attempt before the hash, the workshop-start burst, the workshop
trickle (the htpasswd policies and instant logins) and a room logging in at once through the BasicAuth
remote (on one test API server); prints the tables and writes every figure to bench-results.json.

    python -m bench [--json bench-results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bench import burst, logins, password, trickle
from tests.kube import TestCluster, build


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench-results.json")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    attempt = password.measure()
    print(attempt["table"], file=sys.stderr)
    kube = TestCluster(build(), Path(tempfile.mkdtemp(prefix="bench-kube-")))
    kube.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        results = {"password": attempt, "burst": burst.measure(kube, workdir / "burst", 200, 50, 50, cores)}
        print(results["burst"]["table"], file=sys.stderr)
        results["trickle"] = trickle.measure(kube, workdir / "trickle", 200, 15, 30, 3.0, cores)
        print(results["trickle"]["table"], file=sys.stderr)
        results["logins"] = logins.measure(kube, workdir / "logins", 301, 100, cores)
    finally:
        kube.stop()
    Path(args.json).write_text(json.dumps(results, indent=2))
    print("\n\n".join(results[name]["table"] for name in ("password", "burst", "trickle", "logins")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
