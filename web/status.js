// status: the connection status pill (#status). Owns what it says (live, stale,
// connecting, reconnecting with the next try, offline, error), the age of the
// last event, and its click, which asks for a retry now. Redrawn every second,
// so a silent connection turns "Stale" after two missed heartbeats. Never opens
// or closes a connection itself: it shows the state it is given.

const $ = (id) => document.getElementById(id);

export class ConnectionStatus {
  /**
   * current(): the state of the connection that matters (see stream.js), or null.
   * settings: {heartbeat} in seconds (the server's, once /healthz has told it).
   * onRetry(): the pill was clicked.
   * toldElsewhere(state): true for an error another control already explains (a
   *   bad filter, at the filter box): the pill then only says "Stopped".
   */
  constructor({ current, settings, onRetry, toldElsewhere = () => false }) {
    this.current = current;
    this.toldElsewhere = toldElsewhere;
    this.narrow = window.matchMedia("(max-width: 760px)");
    this.settings = settings;
    $("status").addEventListener("click", onRetry);
    setInterval(() => this.render(), 1000);
  }

  render() {
    const el = $("status");
    const s = this.current();
    const heartbeat = this.settings.heartbeat;
    let kind = "idle", text = "Idle", age = "";
    const now = Date.now();
    if (s) {
      kind = s.status;
      const since = s.lastActivity ? Math.floor((now - s.lastActivity) / 1000) : null;
      if (s.status === "live") {
        text = "Live";
        if (heartbeat > 0 && since !== null && since > 2 * heartbeat) {
          kind = "stale";
          text = "Stale";
          el.title = `Nothing (not even a heartbeat) for ${since} s; the server sends one every ${heartbeat} s.`;
        } else {
          el.title = heartbeat > 0 ? "Connected. Lines arrive as they are written."
            : "Connected. Lines arrive as they are written (this server sends no heartbeat, so a quiet stream cannot be told from a lost one).";
        }
        if (since !== null) age = since < 1 ? "just now" : `${since}s ago`;
      } else if (s.status === "connecting") {
        text = "Connecting…";
      } else if (s.status === "reconnecting" || s.status === "offline") {
        const wait = Math.max(0, Math.ceil((s.nextAt - now) / 1000));
        const head = s.status === "offline" ? "Offline" : "Reconnecting";
        if (this.narrow.matches) { // a phone's header has room for a few words only
          text = s.nextAt > now ? `${head} · ${wait}s` : `${head}…`;
        } else {
          text = s.nextAt > now
            ? `${head} (attempt ${s.attempt}, next try in ${wait}s)`
            : `${head} (attempt ${s.attempt}, trying…)`;
        }
        el.title = `${s.message || "Disconnected"}. Click to retry now.`;
        if (since !== null) age = `last event ${since}s ago`;
      } else if (s.status === "error" && this.toldElsewhere(s)) {
        kind = "stopped";
        text = "Stopped";
        el.title = "Not streaming until the filter is fixed.";
      } else if (s.status === "error") {
        text = this.narrow.matches ? "Error" : `Error: ${s.message}`;
        el.title = `${s.message}. Click to try again.`;
      }
    }
    el.dataset.state = kind;
    $("status-text").textContent = text;
    $("status-age").textContent = age;
  }
}
