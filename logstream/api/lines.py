"""api.lines: ``/api/lines/<path>``, a page of a path's history (its rotated
siblings, then the file): before, after or around an id, or from a time, with
the stream's filters (README "History").

Owns choosing the page a request asks for; the reading is ``history``'s and the
time search ``timeline``'s. Never opens a file itself: the source hands out the
history, through the one path gate.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..history import History, Page
from ..timeline import seek_time
from . import runtime
from .params import LinesParams

bp = Blueprint("lines", __name__)


@bp.get("/api/lines/<path:path>")
def lines(path: str):
    rt = runtime()
    params = LinesParams.parse(request.args, rt.config)
    with rt.source.history(path) as history:
        page = read_page(history, params)
        body = {
            "path": path,
            "lines": [{"id": line_id, "text": text} for line_id, text in page.lines],
            "more_before": page.more_before,
            "more_after": page.more_after,
            "start": history.id_of(page.start),
            "end": history.id_of(page.end),
        }
        if page.skipped:
            body["skipped"] = sorted(set(page.skipped))
    return jsonify(body)


def read_page(history: History, params: LinesParams) -> Page:
    """The page ``params`` ask for. Raises ``BadRequest``/``NotFound`` (a bad id,
    a history without timestamps for since/until)."""
    match = params.query.match if params.query is not None else None
    if params.around:
        return history.around(history.locate(params.around), params.limit, match)
    stop = seek_time(history, params.until, strict=True) if params.until is not None else None
    if params.after or params.since is not None:
        start = history.locate(params.after) if params.after else seek_time(history, params.since)
        return history.after(start, params.limit, match, stop=stop)
    end = history.line_start(history.locate(params.before)) if params.before else history.last()
    if stop is not None and stop < end:
        end = stop
    return history.before(end, params.limit, match)
