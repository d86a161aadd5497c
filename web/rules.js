// rules: the reader's highlight rules, pure: a regular expression and a colour
// from a fixed palette each; the presets; reading them from local storage or a
// link; and the marker that finds their matches in a line's text. The matches
// become spans with fixed class names (hl hl-<colour>) in render.js and
// structured.js, never markup.

export const COLOURS = ["red", "orange", "yellow", "green", "blue", "purple"];
export const RULES_KEY = "logstream.highlights";
const MAX_RULES = 20;
const STATUS_AT = String.raw`(?<=HTTP\/[\d.]+" |status"?[=:]\s?"?)`; // where a status code stands
export const PRESETS = [
  { name: "IP addresses", rules: [{ re: String.raw`\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b`, colour: "blue" }] },
  { name: "UUIDs", rules: [{ re: String.raw`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`, colour: "purple" }] },
  {
    name: "HTTP status classes",
    rules: [
      { re: String.raw`${STATUS_AT}2\d\d\b`, colour: "green" },
      { re: String.raw`${STATUS_AT}4\d\d\b`, colour: "orange" },
      { re: String.raw`${STATUS_AT}5\d\d\b`, colour: "red" },
    ],
  },
  { name: "Durations", rules: [{ re: String.raw`\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|min|h)\b`, colour: "yellow" }] },
];

/** A rule list from anything (storage, a link): well-formed rules only. */
export function cleanRules(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((r) => r && typeof r.re === "string" && r.re && COLOURS.includes(r.colour))
    .map((r) => ({ re: r.re, colour: r.colour })).slice(0, MAX_RULES);
}

export function storedRules() {
  try { return cleanRules(JSON.parse(localStorage.getItem(RULES_KEY) || "[]")); } catch { return []; }
}

/** `re` as a RegExp, or null if JavaScript cannot read it. */
export function compile(re) {
  try { return new RegExp(re, "g"); } catch { return null; }
}

/** The rules as a function text -> [{start, end, cls}] (at most 100 per rule), or null if none. */
export function makeRuleMarker(rules) {
  const compiled = rules.map((r) => ({ re: compile(r.re), cls: `hl hl-${r.colour}` })).filter((r) => r.re);
  if (!compiled.length) return null;
  return (text) => {
    const out = [];
    for (const { re, cls } of compiled) {
      re.lastIndex = 0;
      let m, n = 0;
      while ((m = re.exec(text)) !== null && n++ < 100) {
        if (m[0].length === 0) { re.lastIndex++; continue; }
        out.push({ start: m.index, end: m.index + m[0].length, cls });
      }
    }
    return out;
  };
}
