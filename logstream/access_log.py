"""access_log: the server's access-log lines without secrets. An
``access_token`` in a query string (``--query-token``) is masked in every line
and every log record that could carry a URL; behind ``--trusted-proxies`` a line
names the client ProxyFix found before the proxy's address, and only if it looks
like an address (no log forging through a header).
"""

from __future__ import annotations

import logging
import re

_SECRET_QUERY = re.compile(r"((?:^|[?&])access_token=)[^&\s]*", re.IGNORECASE)
_ADDRESS = re.compile(r"[0-9A-Za-z.:_%\[\]-]{1,80}")  # an IP address or a proxy's name for the client


def access_line(line: str, environ: dict) -> str:
    """pywsgi's access-log ``line`` for the request of ``environ``, its tokens
    masked; behind a trusted proxy, the client's address first (``ADDR via LINE``)."""
    # Behind --trusted-proxies, the app's ProxyFix put the client's address in
    # REMOTE_ADDR: log it before the proxy's (pywsgi logs the socket's peer).
    client = environ.get("REMOTE_ADDR")
    if "werkzeug.proxy_fix.orig" in environ and client != environ["werkzeug.proxy_fix.orig"].get("REMOTE_ADDR"):
        shown = client if _ADDRESS.fullmatch(client or "") else "(unparsable)"  # no log forging
        line = f"{shown} via {line}"
    return _SECRET_QUERY.sub(r"\1***", line)


class _MaskTokens(logging.Filter):
    """Takes ``access_token`` values out of a log record's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _SECRET_QUERY.sub(r"\1***", record.getMessage()), ()
        return True


MASK_TOKENS = _MaskTokens()  # one instance: adding it again is a no-op
