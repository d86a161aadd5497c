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

// Leading timestamps: ISO 8601 / RFC 3339, "2026-11-28 10:00:00,123", syslog
// "Nov 28 10:00:00", "[28/Nov/2026:10:00:00 +0000]" (common log format), epoch.
const TIMESTAMP = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\b[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}\b|\[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]/;

/** The first timestamp in the first 80 characters, as { start, end }, or null. */
export function detectTimestamp(text) {
  const m = TIMESTAMP.exec(text.length > 80 ? text.slice(0, 80) : text);
  return m ? { start: m.index, end: m.index + m[0].length } : null;
}
