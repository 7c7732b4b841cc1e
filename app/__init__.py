"""The workshop self-registration app for OpenShift.

`app.factory.create_app(settings)` builds the Dash app (wsgi.py serves it); `python -m app` runs the
instructor's commands. Importing this package imports nothing else, so gunicorn's config can read
app.settings before any worker loads the app.
"""
