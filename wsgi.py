"""The gunicorn target in a checkout (``gunicorn -k gevent wsgi:app``); installed,
it is ``logstream.wsgi:app``. Everything (the gevent patch first) is there."""

from logstream.wsgi import app  # noqa: F401
