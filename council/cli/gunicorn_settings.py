"""gunicorn's settings for `council serve` (`gunicorn -c python:council.cli.gunicorn_settings 'api:create_app()'`).

Installed with the package, so the server runs from any folder; the checkout's gunicorn.conf.py imports this.
"""

import multiprocessing
import os

bind = os.environ.get("COUNCIL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("COUNCIL_WORKERS") or multiprocessing.cpu_count() * 2)
# Never preload: each worker must open its own database pool after the fork.
preload_app = False
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-"
errorlog = "-"
# gunicorn's default line, then the request id the API answered with (X-Request-ID), as in the events it recorded.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
# gunicorn 27's control socket lives at one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn): a second server of
# the same user silently takes it over. par-council is run by its supervisor and signals, not through it.
control_socket_disable = True
