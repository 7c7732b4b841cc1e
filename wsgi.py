"""The WSGI entry point: gunicorn (and OpenShift's Python S2I image) serves `application`.

`python wsgi.py` serves the app on http://localhost:8080 (PORT) for a laptop, with data in ./data.
"""

import os

from app import create_app

application = create_app().server

if __name__ == "__main__":
    application.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")), threaded=True)
