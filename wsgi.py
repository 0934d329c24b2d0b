"""gunicorn's entry point: `gunicorn wsgi:app` (the Council application is built in each worker)."""

from api import create_app

app = create_app()
