"""The WSGI entry point: gunicorn (and OpenShift's Python S2I image) serves `application`.

Building it starts nothing: gunicorn's post_worker_init (config.py) starts the app's background work.
`python wsgi.py` serves the app on http://localhost:8080 (HOST, PORT) for a laptop, with data in ./data.
"""

import sys

from app import logs
from app.errors import SettingsError
from app.factory import create_app
from app.runtime import runtime_of
from app.settings import Settings

try:
    settings = Settings.from_env()
except SettingsError as error:  # a clear message naming the variable, not a traceback
    print(error, file=sys.stderr)
    raise SystemExit(3) from None  # 3: gunicorn's "worker failed to boot", which stops it instead of retrying

logs.configure(settings.log_level)
application = create_app(settings).server

if __name__ == "__main__":
    runtime_of(application).start()
    try:
        application.run(host=settings.host, port=settings.port, threaded=True)
    finally:
        runtime_of(application).stop()
