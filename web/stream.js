// stream: a log stream that survives disconnects. Owns the last event id, the
// reconnection schedule (exponential backoff from the server's retry:, capped)
// and the dedupe of line ids, so that what reaches the view is every line once:
// no line missing after a reconnect (we resume from the last id we received)
// and none repeated (a Set of recently delivered ids drops a line seen before).
// It also decodes a merged stream's data ("<path>\n<line>"), so that the app
// gets each line with its file. Never touches the DOM; reports its state
// through onState.

import { connect } from "./sse.js";

const DEDUPE_WINDOW = 50000; // ids remembered per stream
const BACKOFF_CAP_MS = 30000;
const OFFLINE_AFTER = 5; // failed attempts before we call the server unreachable

export const CONTROL_EVENTS = ["rotate", "truncate", "reset", "deleted", "error", "backlog", "late"];
const FRESH_POSITIONS = ["rotate", "truncate", "reset", "deleted"]; // after these, a file's ids may be reused

/**
 * A merged stream's event data is "<path>\n<line>": split it into {path, data}.
 * Data without a newline has no path ("") and is all line.
 */
function decodeMerged(data) {
  const cut = data.indexOf("\n");
  return cut < 0 ? { path: "", data } : { path: data.slice(0, cut), data: data.slice(cut + 1) };
}

export class ResumableStream {
  /**
   * url(lastId): the URL to open (lastId is "" on the first connect).
   * onLines(events): line events ({data, id}) not seen before, in order; with
   *   merged, {path, data, id} with the path taken off the data; a
   *   `continuation` (group=1) has continuation: true.
   * onControl(type, info, id): rotate / truncate / reset / deleted / error.
   * onState(state): {status, attempt, nextAt, message, lastActivity, caughtUp}.
   * lastId: start after this id (history.js: follow on from the last line shown).
   */
  constructor({ url, onLines, onControl, onState, onEvents = null, retryMs = 2000, merged = false, lastId = "" }) {
    this.url = url;
    this.merged = merged; // several files in one stream: data carries the path
    this.onEvents = onEvents; // raw events instead of lines (the files list)
    this.onLines = onLines;
    this.onControl = onControl;
    this.onState = onState;
    this.baseRetry = retryMs;
    this.lastId = lastId;
    this.seen = new Set();
    this.seenOrder = [];
    this.seenHead = 0;
    this.attempt = 0;
    this.conn = null;
    this.timer = null;
    this.stopped = false;
    this.suspended = false;
    this.state = { status: "connecting", attempt: 0, nextAt: 0, message: "", lastActivity: 0, caughtUp: false };
    this.opens = 0;
    this._online = () => this.reconnectNow();
    window.addEventListener("online", this._online);
    this._open();
  }

  _setState(patch) {
    this.state = { ...this.state, ...patch };
    this.onState(this.state);
  }

  _remember(id) {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length - this.seenHead > DEDUPE_WINDOW) {
      this.seen.delete(this.seenOrder[this.seenHead]);
      this.seenOrder[this.seenHead++] = undefined;
      if (this.seenHead > DEDUPE_WINDOW) {
        this.seenOrder = this.seenOrder.slice(this.seenHead);
        this.seenHead = 0;
      }
    }
    return true;
  }

  /** Forget the ids delivered so far: the positions they name now name other lines. */
  _forget() {
    this.seen.clear();
    this.seenOrder = [];
    this.seenHead = 0;
  }

  _open() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.opens++;
    const conn = connect(this.url(this.lastId), {
      onopen: () => {
        if (conn !== this.conn) return;
        this.attempt = 0;
        this._setState({ status: "live", attempt: 0, nextAt: 0, message: "", lastActivity: Date.now() });
      },
      onevents: (events, comments) => {
        if (conn !== this.conn) return;
        this.state.lastActivity = Date.now();
        const caughtUp = !this.state.caughtUp && comments.includes("caught up");
        if (this.onEvents) {
          if (events.length) this.onEvents(events);
          return;
        }
        const lines = [];
        for (const e of events) {
          if (e.type === "message" || e.type === "continuation") {
            // No duplicate on screen: a line whose id was delivered already is dropped.
            if (e.id && !this._remember(e.id)) continue;
            const line = this.merged ? { ...decodeMerged(e.data), id: e.id } : e;
            // group=1: lines that continue the event before (of the same file).
            lines.push(e.type === "continuation" ? { ...line, continuation: true } : line);
          } else if (CONTROL_EVENTS.includes(e.type)) {
            if (lines.length) { this.onLines(lines.splice(0)); }
            // A file truncated (or recreated on the same inode, or read again after
            // a reset) starts its offsets over: its new lines reuse ids seen before.
            if (FRESH_POSITIONS.includes(e.type)) this._forget();
            let info = {};
            try { info = JSON.parse(e.data); } catch { /* keep {} */ }
            this.onControl(e.type, info, e.id);
          }
        }
        if (lines.length) this.onLines(lines);
        if (conn.lastEventId) this.lastId = conn.lastEventId;
        // The server sent the backlog: an empty view now means "nothing there", not "loading".
        if (caughtUp) this._setState({ caughtUp: true });
      },
      onclose: (info) => {
        if (conn !== this.conn || this.stopped) return;
        if (info.lastEventId) this.lastId = info.lastEventId;
        if (info.retry) this.baseRetry = info.retry;
        this.conn = null;
        if (info.error === "http" && info.status >= 400 && info.status < 500 && info.status !== 408 && info.status !== 429) {
          // A bad filter, a missing file, no access: retrying cannot help.
          this._setState({ status: "error", message: info.message, httpStatus: info.status, nextAt: 0 });
          return;
        }
        this._schedule(info.retryAfter ? info.retryAfter * 1000 : null, info.message);
      },
    });
    this.conn = conn;
    if (this.state.status !== "live") this._setState({ status: this.attempt ? this.state.status : "connecting" });
  }

  _schedule(minDelay, message) {
    this.attempt++;
    const backoff = Math.min(BACKOFF_CAP_MS, this.baseRetry * 2 ** (this.attempt - 1));
    const jitter = backoff * 0.2 * Math.random();
    const delay = Math.max(minDelay || 0, Math.round(backoff - jitter));
    const offline = navigator.onLine === false || this.attempt > OFFLINE_AFTER;
    this._setState({ status: offline ? "offline" : "reconnecting", attempt: this.attempt, nextAt: Date.now() + delay, message });
    this.timer = setTimeout(() => this._open(), delay);
  }

  /**
   * Skip the wait and try again now: the reader clicked "retry" (`manual`), the
   * browser came back online, or another connection to the same server just
   * succeeded. A manual retry also starts the back-off again from its first
   * step (a click while the server is still down must not make the next wait
   * longer), and replaces an attempt still waiting for an answer.
   */
  reconnectNow({ manual = false } = {}) {
    if (this.stopped || this.suspended || this.state.status === "live" || this.state.status === "error") return;
    if (manual) this.attempt = 0;
    if (this.conn) {
      if (!manual) return; // an attempt is under way
      const conn = this.conn;
      this.conn = null; // first, so its onclose does not schedule a reconnect
      conn.close();
    }
    this._open();
  }

  /** Drop the connection and resume it from the last id (e.g. after the tab slept). */
  resume() {
    if (this.stopped) return;
    this.suspended = false;
    const conn = this.conn;
    this.conn = null;
    if (conn) conn.close();
    this._open();
  }

  /** Give the connection back (a hidden tab); resume() picks up from the last id. */
  suspend() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    const conn = this.conn;
    this.conn = null; // first, so its onclose does not schedule a reconnect
    if (conn) conn.close();
    this.suspended = true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this._online);
    if (this.conn) this.conn.close();
    this.conn = null;
  }
}
