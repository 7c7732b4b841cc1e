"""Certificates for the TLS tests, made with openssl as openshift/setup.sh makes the OAuth server's: a CA,
a server certificate for 127.0.0.1 (standing in for the service serving certificate) and client
certificates with the ClientAuth extended key usage."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

EXTENSIONS = """[server]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
"""


@dataclasses.dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def ca(folder: Path, name: str) -> Pair:
    folder.mkdir(parents=True, exist_ok=True)
    pair = Pair(folder / f"{name}.crt", folder / f"{name}.key")
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-keyout", str(pair.key), "-out", str(pair.cert),
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return pair


def signed(authority: Pair, folder: Path, name: str, kind: str) -> Pair:
    """A certificate the authority signed: kind "server" (for 127.0.0.1) or "client" (ClientAuth)."""
    pair = Pair(folder / f"{name}.crt", folder / f"{name}.key")
    request, extensions = folder / f"{name}.csr", folder / "extensions.cnf"
    extensions.write_text(EXTENSIONS)
    _run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(pair.key),
         "-out", str(request))
    _run("x509", "-req", "-in", str(request), "-CA", str(authority.cert), "-CAkey", str(authority.key),
         "-CAcreateserial", "-days", "2", "-out", str(pair.cert), "-extfile", str(extensions),
         "-extensions", kind)
    return pair
