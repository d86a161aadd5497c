"""api.lines: ``/api/lines/<path>``, a page of a path's history (its rotated
siblings, then the file): before, after or around an id, or from a time, with
the stream's filters (README "History").

Owns choosing the page a request asks for; the reading is ``history``'s and the
time search ``timeline``'s. Never opens a file itself: the source hands out the
history, through the one path gate.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..grouping import Grouper
from ..history import History, Page
from ..sources.file_follower import GROUP_LOOKBACK, GROUP_LOOKBACK_LINES
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
    """The page ``params`` ask for (``group=1``: never starting inside a trace).
    Raises ``BadRequest``/``NotFound`` (a bad id, a history without timestamps
    for since/until)."""
    page = _page(history, params)
    return _from_trace_head(history, page) if params.group and page.lines else page


def _from_trace_head(history: History, page: Page) -> Page:
    """``page`` with the lines of the multi-line event its first line continues
    (a stack trace begun before it) put before it, grouped as the stream groups
    (``grouping``), at most ``GROUP_LOOKBACK_LINES`` lines back."""
    back = history.before(page.begin, GROUP_LOOKBACK_LINES, budget=GROUP_LOOKBACK)
    if not back.lines:
        return page
    lines = [*back.lines, page.lines[0]]
    probe = Grouper()
    groups = [*probe.feed([t for _, t in lines], [i for i, _ in lines]), *probe.flush()]
    head = len(lines) - len(groups[-1].texts)  # where the event holding the page's first line begins
    if head >= len(back.lines):
        return page
    return Page([*back.lines[head:], *page.lines], history.locate(back.lines[head][0]), page.end,
                page.more_before if head == 0 else True, page.more_after, page.skipped)


def _page(history: History, params: LinesParams) -> Page:
    match = params.query.match if params.query is not None else None
    if params.around:
        return history.around(history.locate(params.around), params.limit, match)
    stop = history.seek(params.until, strict=True) if params.until is not None else None
    if params.after or params.since is not None:
        start = history.locate(params.after) if params.after else history.seek(params.since)
        return history.after(start, params.limit, match, stop=stop)
    end = history.line_start(history.locate(params.before)) if params.before else history.last()
    if stop is not None and stop < end:
        end = stop
    return history.before(end, params.limit, match)
