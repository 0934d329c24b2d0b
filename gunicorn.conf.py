"""gunicorn settings for a checkout (`gunicorn -c gunicorn.conf.py wsgi:app`): the installed package's own."""

from council.cli.gunicorn_settings import *  # noqa: F403
