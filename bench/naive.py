"""The naive baseline the benchmark compares against: one htpasswd Secret read-modify-write per
registration, no grouping, no records. Same rules, same hash, same Secret adapter, same gunicorn.

    gunicorn --config config.py bench.naive:application
"""

from __future__ import annotations

import flask

from app import cluster, htpasswd, rules
from app.errors import Conflict, RegistrationError, StoreUnavailable
from app.settings import Settings

settings = Settings.from_env()
secret = cluster.SecretDocument(cluster.connect(settings), settings.htpasswd_secret_namespace,
                                settings.htpasswd_secret_name, "htpasswd")
application = flask.Flask(__name__)


@application.post("/api/v1/registrations")
def register():
    try:
        attendee = rules.validate(flask.request.get_json(silent=True) or {}, settings)
    except RegistrationError as error:
        return {"errors": error.errors}, error.status
    entry = htpasswd.make_entry(attendee.username, attendee.password, settings.bcrypt_rounds)
    for _ in range(100):
        try:
            current = secret.read()
            if attendee.username in htpasswd.entries(current.content):
                return {"errors": {"username": "taken"}}, 409
            secret.write(current, htpasswd.append(current.content, [entry]))
            return {"username": attendee.username}, 201
        except Conflict:
            continue
        except StoreUnavailable as error:
            return {"errors": {"form": error.cause}}, 503
    return {"errors": {"form": "too many conflicts"}}, 503


@application.get("/readyz")
def readyz():
    return {"status": "ready"}
