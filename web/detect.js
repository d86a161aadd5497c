// detect: what a line's visible text says about itself. Pure functions, no DOM.
//
// Owns the recognition of a line's level (the word and where it stands) and
// of a leading timestamp. It only looks at text already cleaned by ansi.js and
// never changes it: it returns a level name from a fixed list and offsets.

// Levels, as written by common formats: "ERROR", "[error]", "level=warn",
// "\"level\":\"info\"", "<E>", syslog-ish "W/". Checked on the visible text only.
const LEVEL_WORD = /\b(FATAL|PANIC|CRIT(?:ICAL)?|EMERG|ALERT|SEVERE|ERROR|ERR|EXCEPTION|WARN(?:ING)?|NOTICE|INFO|DEBUG|TRACE|VERBOSE|FINE)\b/;
const LEVEL_KEY = /\b(?:level|lvl|severity|loglevel)["']?\s*[=:]\s*["']?([a-z]+)/i;
const LEVEL_LOWER = /\[(fatal|panic|crit|critical|error|err|warn|warning|notice|info|debug|trace)\]/i;
const LEVEL_MAP = {
  fatal: "error", panic: "error", crit: "error", critical: "error", emerg: "error", alert: "error",
  severe: "error", error: "error", err: "error", exception: "error",
  warn: "warn", warning: "warn",
  notice: "info", info: "info",
  debug: "debug", trace: "debug", verbose: "debug", fine: "debug",
};

/** The level a line states ({ level, start, end } of the word in `text`), or null. */
export function detectLevel(text) {
  const klog = KLOG.exec(text);
  if (klog) return { level: KLOG_LEVEL[klog[1]], start: 0, end: 1 };
  const head = text.length > 300 ? text.slice(0, 300) : text;
  for (const re of [LEVEL_KEY, LEVEL_LOWER, LEVEL_WORD]) {
    const m = re.exec(head);
    if (!m) continue;
    const level = LEVEL_MAP[m[1].toLowerCase()];
    if (!level) continue;
    const start = m.index + m[0].lastIndexOf(m[1]);
    return { level, start, end: start + m[1].length };
  }
  return null;
}

// Timestamps, as common formats write them near the start of a line:
//   RFC 3339 / ISO 8601   2026-11-30T04:25:58.123Z, 2026-11-30 04:25:58+01:00
//   Python logging        2026-11-30 04:25:58,123
//   nginx error log       2026/11/30 04:25:58
//   syslog                Nov 30 04:25:58
//   common log format     [30/Nov/2026:04:25:58 +0000] (nginx, Apache access logs)
//   klog (Kubernetes)     I1130 04:25:58.123456 (the letter is the level)
//   a bare clock          04:25:58.123 at the very start
const TIMESTAMP = new RegExp([
  /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/.source,
  /\b\d{4}\/\d{2}\/\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?/.source,
  /\b[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?\b/.source,
  /\[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]/.source,
  /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+/.source,
  /^\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b/.source,
].join("|"));
const KLOG = /^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+/;
const KLOG_LEVEL = { I: "info", W: "warn", E: "error", F: "error" };
const HEAD = 80; // characters where a line's own timestamp may stand

/** The first timestamp in the first 80 characters, as { start, end }, or null. */
export function detectTimestamp(text) {
  const m = TIMESTAMP.exec(text.length > HEAD ? text.slice(0, HEAD) : text);
  return m ? { start: m.index, end: m.index + m[0].length } : null;
}

/**
 * The level a line has: its own (`found`, from detectLevel), else the level
 * of the record it continues, else null. A line continues the record before it
 * (a stack trace, a wrapped message) only if it is indented, or if it has no
 * timestamp of its own while that record started with one. A line with its own
 * timestamp, or a JSON object, starts a new record and never inherits: in a
 * syslog file with a few "[error]" lines, the others stay unlevelled.
 *
 * `record` is what the previous line left: { level, stamped } or undefined.
 * Returns { level, record } (record: what this line leaves for the next one).
 */
export function lineLevel(text, found, ts, record) {
  const stamped = ts !== null || text.startsWith("{");
  if (found) return { level: found.level, record: { level: found.level, stamped } };
  const indented = text.length > 0 && (text.charCodeAt(0) === 32 || text.charCodeAt(0) === 9);
  if (record && record.level && !stamped && (indented || record.stamped)) {
    return { level: record.level, record };
  }
  return { level: null, record: { level: null, stamped } };
}
