"""The WSGI entry point: gunicorn (and OpenShift's Python S2I image) serves `application`.

`python wsgi.py` serves the app on http://localhost:8080 (HOST, PORT) for a laptop, with data in ./data.
"""

import os
import sys

from app import create_app
from app.errors import SettingsError

try:
    application = create_app().server
except SettingsError as error:  # a clear message naming the variable, not a traceback
    print(error, file=sys.stderr)
    raise SystemExit(3) from None  # 3: gunicorn's "worker failed to boot", which stops it instead of retrying

if __name__ == "__main__":
    application.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")), threaded=True)
