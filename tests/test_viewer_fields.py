"""The viewer's structured lines, in a real Chromium (issue 14): a JSON or logfmt
line shows its time, level and message first and its other fields as chips; a
click expands it into a tree; a field pins as a column (kept in the permalink and
across reloads); the parsed level drives the toggles; and no key or value from
the log ever becomes markup."""

from __future__ import annotations

import json

import browser as fixtures
from conftest import append

browser = fixtures.browser
new_page = fixtures.new_page
viewer = fixtures.viewer

SV = "() => Array.from(document.querySelectorAll('#lines .ln > .sv'), e => e.textContent)"


def test_a_json_line_shows_time_level_message_then_chips_and_expands(viewer, logdir):
    append(logdir / "app.json",
           '{"time":"2026-11-30T04:25:58.123Z","level":"error","msg":"db ping failed","err":"timeout",'
           '"http":{"status":503,"ok":false},"tags":["a",null]}',
           'ts=2026-11-30T04:26:00Z level=warn msg="slow query" ms=1203')
    page = viewer.open("file=app.json").page
    viewer.wait_count(2)
    parts = page.evaluate("""() => Array.from(document.querySelectorAll('#lines .ln'), l =>
        Array.from(l.querySelector('.sv').children, c => [c.className, c.textContent]))""")
    assert parts[0] == [["ts", "2026-11-30T04:25:58.123Z"], ["lvw lvn-error", "ERROR"], ["msg", "db ping failed"],
                        ["fk", "err="], ["fk", "http="], ["fk", "tags="]]
    assert parts[1] == [["ts", "2026-11-30T04:26:00Z"], ["lvw lvn-warn", "WARN"], ["msg", "slow query"], ["fk", "ms="]]
    assert page.evaluate(SV) == ['2026-11-30T04:25:58.123ZERRORdb ping failederr=timeouthttp={"status":503,"ok":false}'
                                 'tags=["a",null]', "2026-11-30T04:26:00ZWARNslow queryms=1203"]
    # The raw line is still the line's text (what .tx holds), and the levels are the parsed ones.
    assert viewer.texts()[1] == 'ts=2026-11-30T04:26:00Z level=warn msg="slow query" ms=1203'
    assert page.evaluate("() => Array.from(document.querySelectorAll('#lines .ln'), l => l.className)") == [
        "ln lv-error", "ln lv-warn"]

    page.click("#lines .ln >> nth=0")
    page.wait_for_selector("#lines .ln .ftree")
    tree = page.inner_text("#lines .ln .ftree")
    assert '"http": {' in tree and '"status": 503' in tree and '"ok": false' in tree and '"tags": [' in tree
    classes = page.evaluate("() => Array.from(document.querySelectorAll('.ftree [class^=j-]'), e => e.className)")
    assert {"j-key", "j-str", "j-num", "j-bool", "j-null"} <= set(classes)
    assert page.get_attribute("#lines .ln >> nth=0", "aria-expanded") == "true"
    page.click("#lines .ln >> nth=0 >> .sv")
    page.wait_for_function("() => !document.querySelector('#lines .ftree')")


def test_a_field_pins_as_a_column_survives_a_reload_and_goes_into_the_link(viewer, logdir):
    append(logdir / "app.json", *(json.dumps({"level": "info", "msg": f"req {i}", "user": f"u{i}", "ms": i})
                                  for i in range(3)))
    page = viewer.open("file=app.json").page
    viewer.wait_count(3)
    page.click("#lines .ln >> nth=1")
    page.click('#lines .ftree .pin[data-field="user"]')
    page.wait_for_function("() => document.querySelectorAll('#lines .sv .col').length === 3")
    assert page.evaluate("() => Array.from(document.querySelectorAll('#lines .sv .col'), e => e.textContent)") == [
        "u0", "u1", "u2"]
    # A pinned field is a column, not a chip any more; the open tree offers to unpin it.
    assert "user=" not in page.evaluate(SV)[0]
    assert page.get_attribute('#lines .ftree .pin[data-field="user"]', "aria-pressed") == "true"
    assert "col=user" in page.url
    # Kept across a reload, even without the link's columns.
    page.goto(f"{viewer.server.url}/#file=app.json")
    viewer.wait_count(3)
    page.wait_for_function("() => document.querySelectorAll('#lines .sv .col').length === 3")
    # Unpinned.
    page.click("#lines .ln >> nth=0")
    page.click('#lines .ftree .pin[data-field="user"]')
    page.wait_for_function("() => document.querySelectorAll('#lines .sv .col').length === 0")
    assert "col=" not in page.url
    assert "user=u0" in page.evaluate(SV)[0]


HOSTILE = '<img src=x onerror="window.__pwned=1">'


def test_no_json_key_or_value_is_ever_markup(viewer, logdir):
    append(logdir / "app.json",
           json.dumps({"level": "error", "msg": HOSTILE, HOSTILE: HOSTILE, "nested": {HOSTILE: [HOSTILE]},
                       "time": HOSTILE}),
           f'level=info msg="{HOSTILE.replace(chr(34), "")}" x=<b>bold</b>')
    page = viewer.open("file=app.json").page
    viewer.wait_count(2)
    page.click("#lines .ln >> nth=0")
    page.click(f'#lines .ftree .pin[data-field="{HOSTILE.replace(chr(34), chr(92) + chr(34))}"]')
    page.wait_for_selector("#lines .sv .col")
    page.click("#lines .ln >> nth=1")
    page.wait_for_function("() => document.querySelectorAll('#lines .ftree').length === 2")
    assert page.evaluate("() => document.querySelectorAll('#lines img, #lines b, body img').length") == 0
    assert page.evaluate("() => window.__pwned") is None
    assert HOSTILE in page.inner_text("#lines .ln >> nth=0")


def test_the_parsed_level_drives_the_toggles(viewer, logdir):
    append(logdir / "app.json",
           '{"level":50,"msg":"pino error"}',
           '{"severity":"WARNING","msg":"an INFO word in a warning"}',
           '{"levelname":"DEBUG","message":"python"}',
           '{"msg":"no level, but ERROR in the text"}')
    page = viewer.open("file=app.json").page
    viewer.wait_count(4)
    assert page.evaluate("() => Array.from(document.querySelectorAll('#lines .ln'), l => l.className)") == [
        "ln lv-error", "ln lv-warn", "ln lv-debug", "ln lv-error"]
    page.click('.lvl[data-level="error"]')
    visible = "() => Array.from(document.querySelectorAll('#lines .ln')).filter(l => l.offsetParent).length"
    page.wait_for_function(f"() => ({visible})() === 2")


def test_the_field_filter_sends_where_clauses_and_tells_a_bad_one_at_the_box(viewer, logdir):
    append(logdir / "app.json", *(json.dumps({"level": lv, "msg": f"m{i}", "ms": i * 100})
                                  for i, lv in enumerate(["info", "warn", "error", "warn", "debug"])))
    page = viewer.open("file=app.json").page
    viewer.wait_count(5)
    page.fill("#where", "level>=warn; ms>100")
    page.wait_for_function("() => document.querySelectorAll('#lines .ln').length === 2"
                           " && document.querySelector('#lines .ln .msg').textContent === 'm2'")
    assert "where=level" in page.url
    assert page.inner_text("#filter-state") == "Filter: fields level>=warn; ms>100"
    assert page.evaluate("() => Array.from(document.querySelectorAll('#lines .msg'), e => e.textContent)") == [
        "m2", "m3"]
    page.fill("#where", "user=nobody")
    page.wait_for_function("() => document.getElementById('empty').textContent.includes('No line')")
    assert "No line's fields match “user=nobody” so far" in page.inner_text("#empty")
    page.fill("#where", "level>=warn; ms 1")
    page.wait_for_selector("#filter-error:not([hidden])")
    error = page.inner_text("#filter-error")
    assert error.startswith("Field filter: 'ms 1': at character 4: expected an operator")
    assert error.endswith("ms 1\n   ^")
    assert page.get_attribute("#where", "aria-invalid") == "true"
    page.fill("#where", "")
    page.wait_for_function("() => document.getElementById('filter-error').hidden")
    viewer.wait_count(5)
    assert page.get_attribute("#where", "aria-invalid") is None
    # The link carries the clauses.
    page.goto(f"{viewer.server.url}/#file=app.json&where=level%3Derror")
    page.wait_for_function("() => document.querySelectorAll('#lines .ln').length === 1")
    assert page.input_value("#where") == "level=error"


def test_screenshot_of_a_json_log_expanded(viewer, logdir):
    lines = [
        {"time": "2026-11-30T04:25:58.123Z", "level": "info", "msg": "listening", "port": 8080, "pid": 4211},
        {"time": "2026-11-30T04:25:58.900Z", "level": "info", "msg": "request handled", "method": "GET",
         "path": "/api/orders", "status": 200, "ms": 12, "user": "u-1042"},
        {"time": "2026-11-30T04:25:59.004Z", "level": "error", "msg": "payment failed", "order": 4211,
         "err": {"type": "GatewayTimeout", "after_ms": 2000}, "http": {"method": "POST", "status": 502},
         "retry": True, "tags": ["payments", "eu-west-1"]},
        {"time": "2026-11-30T04:25:59.100Z", "level": "warn", "msg": "retrying", "attempt": 2, "user": "u-1042"},
        {"time": "2026-11-30T04:26:00.200Z", "level": "debug", "msg": "cache miss", "key": "orders:4211",
         "user": None},
    ]
    append(logdir / "app.json", *(json.dumps(x) for x in lines))
    page = viewer.open("file=app.json&col=user").page
    viewer.wait_count(5)
    page.click("#lines .ln >> nth=2")
    page.wait_for_selector("#lines .ftree")
    fixtures.save_screenshot(page, "json-expanded")


def test_a_highlight_rule_colours_matches_and_lives_in_the_link_and_storage(viewer, logdir):
    append(logdir / "app.log",
           "2026-11-30T04:25:58Z INFO order 4211 paid by 10.0.4.7",
           '10.0.4.9 - - [30/Nov/2026:04:26:00 +0000] "POST /api/pay HTTP/1.1" 502 157 "-" "curl/8.5.0"',
           json.dumps({"level": "info", "msg": "order 77 shipped", "id": "0b8f3c7e-1d2a-4e5f-9a6b-7c8d9e0f1a2b"}))
    page = viewer.open("file=app.log").page
    viewer.wait_count(3)
    page.click("#look-open")
    page.fill("#hl-re", r"order \d+")
    page.select_option("#hl-colour", "purple")
    page.click("#hl-add button[type=submit]")
    marks = "() => Array.from(document.querySelectorAll('#lines .hl-purple'), e => e.textContent)"
    page.wait_for_function(f"() => ({marks})().length === 2")
    assert page.evaluate(marks) == ["order 4211", "order 77"]
    # A bad pattern is told in the panel, and adds nothing.
    page.fill("#hl-re", "(")
    page.click("#hl-add button[type=submit]")
    assert page.is_visible("#hl-error")
    # Presets: IPs and HTTP status classes.
    page.click("#hl-presets button:has-text('IP addresses')")
    page.click("#hl-presets button:has-text('HTTP status classes')")
    page.wait_for_function("() => document.querySelectorAll('#lines .hl-blue').length === 2")
    assert page.evaluate("() => Array.from(document.querySelectorAll('#lines .hl-red'), e => e.textContent)") == ["502"]
    page.click("#look .help-actions button")
    assert "hl=purple" in page.url
    # The text of the lines is unchanged: only spans were added.
    assert viewer.texts()[0] == "2026-11-30T04:25:58Z INFO order 4211 paid by 10.0.4.7"
    # Remembered by the browser: a fresh link without rules still has them.
    page.goto(f"{viewer.server.url}/#file=app.log")
    viewer.wait_count(3)
    page.wait_for_function(f"() => ({marks})().length === 2")
    # Removed from the panel.
    page.click("#look-open")
    page.click("#hl-list li:first-child button")
    page.wait_for_function(f"() => ({marks})().length === 0")


def test_timestamps_show_as_written_local_utc_or_relative_and_the_choice_is_remembered(viewer, logdir):
    append(logdir / "app.log",
           "2026-11-30T04:25:58.123+01:00 INFO text line",
           json.dumps({"ts": 1764473158.5, "level": "info", "msg": "epoch seconds"}))
    page = viewer.open("file=app.log").page
    viewer.wait_count(2)
    stamps = "() => Array.from(document.querySelectorAll('#lines .ts'), e => e.textContent)"
    assert page.evaluate(stamps) == ["2026-11-30T04:25:58.123+01:00", "1764473158.5"]
    page.click("#look-open")
    page.select_option("#time-mode", "utc")
    page.wait_for_function(f"() => ({stamps})()[0] === '2026-11-30 03:25:58.123Z'")
    assert page.evaluate(stamps)[1] == "2025-11-30 03:25:58.500Z"
    page.select_option("#time-mode", "relative")
    page.wait_for_function(f"() => ({stamps})().every(t => / ago$| in /.test(t) || t.startsWith('in '))")
    page.click("#look .help-actions button")
    page.reload()
    viewer.wait_count(2)
    assert page.evaluate(f"() => ({stamps})().every(t => t.endsWith(' ago'))")
    assert page.input_value("#time-mode") == "relative"


TRACE = ("2026-11-30 04:25:59,456 ERROR shop.payments: charge failed\n"
         "Traceback (most recent call last):\n"
         '  File "/srv/shop/payments.py", line 88, in charge\n'
         "shop.gateway.GatewayTimeout: no answer in 2.0 s")


def test_a_several_line_entry_is_collapsed_to_its_first_line_and_expands(viewer, logdir):
    # A stack trace grouped by the server (group=1) is one event whose data has
    # newlines: fed here straight to the view, as the stream would.
    (logdir / "app.log").write_text("")
    page = viewer.open("file=app.log").page
    viewer.wait_state("live")
    page.evaluate("(t) => window.__logstream.view.addLines([{data: t}, {data: 'after'}])", TRACE)
    viewer.wait_count(2)
    assert viewer.texts() == [TRACE, "after"]  # one entry: its text whole
    line = "#lines .ln >> nth=0"
    assert page.get_attribute(line, "class") == "ln lv-error"
    assert page.inner_text(f"{line} >> .more") == "+3 lines"
    rest = f"{line} >> .rest"
    assert not page.is_visible(rest)
    height = page.evaluate("() => document.querySelector('#lines .ln').getBoundingClientRect().height")
    page.click(f"{line} >> .more")
    assert page.is_visible(rest)
    assert page.inner_text(f"{line} >> .more") == "show less"
    assert page.evaluate("() => document.querySelector('#lines .ln').getBoundingClientRect().height") > 3 * height
    page.click(f"{line} >> .more")
    assert not page.is_visible(rest)


def test_a_several_line_entry_is_expanded_when_the_filter_matched_inside(viewer, logdir):
    (logdir / "app.log").write_text("")
    page = viewer.open("file=app.log&q=GatewayTimeout").page
    viewer.wait_state("live")
    page.evaluate("(t) => window.__logstream.view.addLines([{data: t}, {data: t.replace('GatewayTimeout', 'x')}])",
                  TRACE)
    viewer.wait_count(2)
    assert page.is_visible("#lines .ln >> nth=0 >> .rest")
    assert page.inner_text("#lines .ln >> nth=0 >> .rest mark") == "GatewayTimeout"
    assert not page.is_visible("#lines .ln >> nth=1 >> .rest")


def test_a_merged_backlog_is_interleaved_by_timestamp_and_live_lines_keep_arrival_order(viewer, logdir):
    append(logdir / "a.log",
           "2026-11-30T04:00:01Z INFO a first",
           "2026-11-30T04:00:03Z ERROR a third",
           "  at a continuation of the third",
           "2026-11-30T04:00:05Z INFO a fifth")
    append(logdir / "b.json",
           json.dumps({"time": "2026-11-30T04:00:02Z", "msg": "b second"}),
           json.dumps({"time": "2026-11-30T04:00:04Z", "msg": "b fourth"}),
           "b has no time")
    page = viewer.open("file=a.log&file=b.json").page
    viewer.wait_count(7)
    texts = viewer.texts()
    assert [t.split(" ", 1)[1] if t.startswith("2026") else t for t in texts] == [
        "INFO a first", json.dumps({"time": "2026-11-30T04:00:02Z", "msg": "b second"}),
        "ERROR a third", "  at a continuation of the third",
        json.dumps({"time": "2026-11-30T04:00:04Z", "msg": "b fourth"}), "b has no time", "INFO a fifth"]
    viewer.wait_state("live")
    append(logdir / "a.log", "2026-11-30T03:00:00Z INFO a live but older")
    viewer.wait_count(8)
    assert viewer.texts()[-1] == "2026-11-30T03:00:00Z INFO a live but older"
    assert page.evaluate("() => document.querySelectorAll('#lines .ln .src').length") == 8
