"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (tables first: `council db init`)."""

import multiprocessing
import os

bind = os.environ.get("COUNCIL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("COUNCIL_WORKERS", multiprocessing.cpu_count() * 2))
# Never preload: each worker must open its own database pool after the fork.
preload_app = False
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-"
errorlog = "-"
