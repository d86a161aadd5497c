// connection: the tab's connections to the server. At most two: the files list
// (api/files/events) and one stream for all open files (api/stream/<path>, or
// api/stream?path=a&path=b merged). Owns their URLs, opening and closing them,
// "retry now", and giving them back while the tab is hidden. Never touches the
// DOM and never reads a line: what arrives goes to the handlers it is given.

import { serverPattern, state, whereClauses } from "./state.js";
import { ResumableStream } from "./stream.js";

const BACKLOG = 1000; // lines a new stream starts with, unless the server allows fewer
const HIDDEN_GRACE_MS = 30000;

export function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

export function downloadUrl(path) {
  return `api/download/${encodePath(path)}`;
}

/** The lines of backlog to ask for: never more than the window or the server's --max-backlog. */
export function backlogLines(settings) {
  return Math.max(0, Math.min(BACKLOG, state.max, settings.maxBacklog ?? BACKLOG));
}

/** The query of a line filter as the server reads it (stream, lines): filter, invert, where, and group=1 (stack traces as one entry). */
export function filterParams(q = new URLSearchParams()) {
  const pattern = serverPattern();
  if (pattern) q.set("filter", pattern);
  if (pattern && state.filter.invert) q.set("invert", "1");
  for (const clause of whereClauses()) q.append("where", clause);
  if (state.group) q.set("group", "1");
  return q;
}

function streamUrl(paths, lastId, settings) {
  const q = new URLSearchParams();
  let base;
  if (paths.length === 1) base = `api/stream/${encodePath(paths[0])}`;
  else {
    base = "api/stream";
    for (const f of paths) q.append("path", f);
  }
  q.set("lines", String(backlogLines(settings)));
  filterParams(q);
  if (lastId) q.set("last_event_id", lastId);
  return `${base}?${q}`;
}

export class Connections {
  /**
   * settings: {retryMs} (the server's, once /healthz has told it).
   * onFileEvents(events): what api/files/events sent.
   * onFilesState(state): the files list connection's state changed.
   * canOpen(): false while signed out (a visible tab then reopens nothing).
   */
  constructor({ settings, onFileEvents, onFilesState, canOpen }) {
    this.settings = settings;
    this.onFileEvents = onFileEvents;
    this.onFilesState = onFilesState;
    this.stream = null;
    this.streamState = null;
    this.filesStream = null;
    this.streamsOpened = 0;
    this.filesStreamsOpened = 0;
    this.hiddenGraceMs = undefined; // tests shorten the hidden-tab grace period

    // A hidden tab gives its connections back, so that many open tabs never starve the
    // browser's six connections per origin: the file list at once, the log stream after
    // a grace period. Coming back, the stream resumes from the last id (nothing lost,
    // nothing twice) and the file list from a fresh snapshot.
    let hiddenTimer = null;
    document.addEventListener("visibilitychange", () => {
      clearTimeout(hiddenTimer);
      if (document.hidden) {
        this.closeFiles();
        const grace = this.hiddenGraceMs ?? HIDDEN_GRACE_MS;
        hiddenTimer = setTimeout(() => { if (this.stream && document.hidden) this.stream.suspend(); }, grace);
      } else if (canOpen()) {
        this.openFiles();
        if (this.stream && this.stream.suspended) this.stream.resume();
      }
    });
  }

  /** The state of the connection that matters to the reader, or null. */
  current() {
    if (this.stream) return this.streamState || { status: "connecting", lastActivity: 0 };
    if (this.filesStream) return this.filesStream.state;
    return null;
  }

  /**
   * Open the stream of `paths` with the current filter (see stream.js for
   * merged, onLines, onControl and onState); `lastId`: start after it, not with the backlog.
   */
  openStream({ paths, merged, onLines, onControl, onState, lastId = "" }) {
    this.closeStream();
    this.stream = new ResumableStream({
      url: (lastId) => streamUrl(paths, lastId, this.settings),
      retryMs: this.settings.retryMs,
      merged,
      lastId,
      onLines,
      onControl,
      onState: (s) => {
        this.streamState = s;
        if (s.status === "live") this._reachable(this.stream);
        onState(s);
      },
    });
    this.streamsOpened++;
  }

  closeStream() {
    if (this.stream) this.stream.close();
    this.stream = null;
    this.streamState = null;
  }

  openFiles() {
    if (this.filesStream) return;
    if (this.settings.streamsPerClient < 2) {
      this._readFilesOnce();
      return;
    }
    this.filesStream = new ResumableStream({
      url: () => "api/files/events",
      retryMs: this.settings.retryMs,
      onEvents: this.onFileEvents,
      onLines: () => {},
      onControl: () => {},
      onState: (s) => {
        if (s.status === "live") this._reachable(this.filesStream);
        this.onFilesState(s);
      },
    });
    this.filesStreamsOpened++;
  }

  /**
   * The server allows one stream per client (--max-per-ip 1 or --max-connections 1):
   * that one is for the log, so the file list is read once (and again when the
   * tab comes back), not followed.
   */
  async _readFilesOnce() {
    try {
      const r = await fetch("api/files", { cache: "no-store" });
      if (r.status === 401) {
        this.onFilesState({ status: "error", httpStatus: 401, message: "authentication required" });
        return;
      }
      const body = await r.json();
      const data = JSON.stringify({ files: body.files || [], live: false });
      this.onFileEvents([{ type: "snapshot", data }]);
    } catch { /* the list stays as it was */ }
  }

  closeFiles() {
    if (this.filesStream) this.filesStream.close();
    this.filesStream = null;
  }

  /** The reader asked to retry: at once, from the back-off's first step; a stream that ended in an error is restarted by restart(). */
  retryNow(restart) {
    if (this.stream) {
      if (this.streamState && this.streamState.status === "error") restart();
      else this.stream.reconnectNow({ manual: true });
    }
    if (this.filesStream) this.filesStream.reconnectNow({ manual: true });
  }

  /** One connection got through: the server is back, so the other one need not wait out its back-off. */
  _reachable(from) {
    for (const other of [this.stream, this.filesStream]) if (other && other !== from) other.reconnectNow();
  }
}
