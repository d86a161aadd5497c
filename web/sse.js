// sse: a Server-Sent Events connection over fetch(), with a parser that follows
// the WHATWG "server-sent events" section (the same rules as logstream/sse.py).
//
// Why not EventSource: it hides comments (so heartbeats are invisible and a stale
// connection cannot be told from an idle one), hides the `retry:` field, hides
// the HTTP status and error body (a bad regex would just "reconnect" forever),
// and reconnects on its own without backoff. Here the caller sees all of it and
// owns reconnection (stream.js). One fetch = one connection, like an EventSource.

const ANSWER_TIMEOUT_MS = 15000; // for the response headers of a new connection

export class SSEParser {
  constructor() {
    this.buffer = "";
    this.data = [];
    this.type = "";
    this.id = null; // id field of the event being built; null = none given
    this.lastEventId = "";
    this.retry = null;
  }

  /** Feed decoded text; returns {events, comments} seen in it (comments: their texts). */
  feed(text) {
    const events = [];
    const comments = [];
    this.buffer += text;
    let start = 0;
    const buf = this.buffer;
    for (;;) {
      // Lines end at CRLF, LF or CR. A CR at the very end may be half a CRLF: wait.
      let i = start, end = -1, next = -1;
      const n = buf.length;
      while (i < n) {
        const c = buf.charCodeAt(i);
        if (c === 10) { end = i; next = i + 1; break; }
        if (c === 13) {
          if (i + 1 < n) { end = i; next = buf.charCodeAt(i + 1) === 10 ? i + 2 : i + 1; }
          break;
        }
        i++;
      }
      if (end < 0) break;
      const line = buf.slice(start, end);
      start = next;
      if (line === "") {
        if (this.id !== null) this.lastEventId = this.id;
        this.id = null;
        if (this.data.length) {
          events.push({ type: this.type || "message", data: this.data.join("\n"), id: this.lastEventId });
        } // else: an id-only event moves lastEventId without dispatching (see logstream/sse.py)
        this.data = [];
        this.type = "";
        continue;
      }
      if (line.charCodeAt(0) === 58) { // ":" comment: a heartbeat, or "caught up" after the backlog
        comments.push(line.charCodeAt(1) === 32 ? line.slice(2) : line.slice(1));
        continue;
      }
      const colon = line.indexOf(":");
      let field = line, value = "";
      if (colon >= 0) {
        field = line.slice(0, colon);
        value = line.slice(colon + 1);
        if (value.charCodeAt(0) === 32) value = value.slice(1);
      }
      if (field === "data") this.data.push(value);
      else if (field === "event") this.type = value;
      else if (field === "id") { if (!value.includes("\0")) this.id = value; }
      else if (field === "retry") { if (/^\d+$/.test(value)) this.retry = Number(value); }
    }
    this.buffer = start ? buf.slice(start) : buf;
    return { events, comments };
  }
}

/**
 * Open one SSE connection. Callbacks: onopen(), onevents(events, comments),
 * onclose({error, status, message, retryAfter}). `close()` aborts it.
 * No reconnection here: that is the caller's decision (stream.js).
 */
export function connect(url, { onopen, onevents, onclose }) {
  const abort = new AbortController();
  const parser = new SSEParser();
  let closed = false;
  const finish = (info) => {
    if (closed) return;
    closed = true;
    onclose({ ...info, retry: parser.retry, lastEventId: parser.lastEventId });
  };
  // A server that accepts but never answers (a host rebooting behind a proxy) must
  // not hold the connection forever: give up on it, and the caller tries again.
  let unanswered = false;
  const answerTimer = setTimeout(() => { unanswered = true; abort.abort(); }, ANSWER_TIMEOUT_MS);
  (async () => {
    let response;
    try {
      response = await fetch(url, {
        signal: abort.signal,
        headers: { Accept: "text/event-stream" },
        cache: "no-store",
      });
    } catch (err) {
      finish({ error: "network", message: unanswered ? "no answer from the server" : abort.signal.aborted ? "closed" : "cannot reach the server" });
      return;
    } finally {
      clearTimeout(answerTimer);
    }
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        const body = await response.json();
        if (body && typeof body.error === "string") message = body.error;
      } catch { /* not JSON */ }
      const retryAfter = Number(response.headers.get("Retry-After")) || null;
      finish({ error: "http", status: response.status, message, retryAfter });
      return;
    }
    onopen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const { events, comments } = parser.feed(value);
        if (!closed && (events.length || comments.length)) onevents(events, comments);
      }
      finish({ error: "ended", message: "the server closed the stream" });
    } catch {
      finish({ error: "network", message: abort.signal.aborted ? "closed" : "connection lost" });
    }
  })();
  return {
    get lastEventId() { return parser.lastEventId; },
    get retry() { return parser.retry; },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(answerTimer);
      abort.abort();
    },
  };
}
