// ansi: a log line's text -> plain text plus styled runs. Pure functions, no DOM.
//
// Owns the ANSI SGR subset we render (bold, dim, italic, underline, strike,
// inverse, 16/256/truecolor foreground and background) and the removal of every
// other escape sequence. It must never produce anything but numbers and class
// names from a line: colours become "rgb(r, g, b)" strings built from integers,
// so no byte of a log line can reach an attribute or a style as text.

// CSI (ESC [ or the 8-bit 0x9B), OSC (ESC ] ... BEL or ST), other ESC sequences.
// Sticky-free global regex; the alternation is linear (no nested quantifiers).
const ESCAPE = /\x1b\[([0-?]*)([ -\/]*)([@-~])|\x9b([0-?]*)([ -\/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[P^_X][^\x1b]*(?:\x1b\\)?|\x1b[ -\/]*[0-~]?/g;
// C0 controls other than TAB, plus DEL and the C1 range: never rendered raw.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

const CUBE = [0, 95, 135, 175, 215, 255];

/** Colour of a 256-colour index: a palette class for 0-15, an rgb() string beyond. */
function colour256(n) {
  if (n < 16) return { cls: n };
  if (n < 232) {
    const i = n - 16;
    return { rgb: [CUBE[Math.floor(i / 36)], CUBE[Math.floor(i / 6) % 6], CUBE[i % 6]] };
  }
  const v = 8 + (n - 232) * 10;
  return { rgb: [v, v, v] };
}

function byte(v) {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : null;
}

/** Apply one SGR parameter list to a style (mutates and returns a new object). */
export function applySgr(style, params) {
  const s = { ...style };
  const p = params === "" ? [0] : params.split(/[;:]/).map((x) => (x === "" ? 0 : Number(x)));
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === 0) { for (const k of Object.keys(s)) delete s[k]; }
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 7) s.inverse = true;
    else if (c === 9) s.strike = true;
    else if (c === 22) { delete s.bold; delete s.dim; }
    else if (c === 23) delete s.italic;
    else if (c === 24) delete s.underline;
    else if (c === 27) delete s.inverse;
    else if (c === 29) delete s.strike;
    else if (c >= 30 && c <= 37) s.fg = { cls: c - 30 };
    else if (c >= 90 && c <= 97) s.fg = { cls: c - 90 + 8 };
    else if (c === 39) delete s.fg;
    else if (c >= 40 && c <= 47) s.bg = { cls: c - 40 };
    else if (c >= 100 && c <= 107) s.bg = { cls: c - 100 + 8 };
    else if (c === 49) delete s.bg;
    else if (c === 38 || c === 48) {
      const key = c === 38 ? "fg" : "bg";
      if (p[i + 1] === 5) {
        const n = byte(p[i + 2]);
        if (n !== null) s[key] = colour256(n);
        i += 2;
      } else if (p[i + 1] === 2) {
        const rgb = [byte(p[i + 2]), byte(p[i + 3]), byte(p[i + 4])];
        if (!rgb.includes(null)) s[key] = { rgb };
        i += 4;
      } else {
        i = p.length; // malformed extended colour: ignore the rest of this sequence
      }
    }
    // Anything else (blink, fonts, ...) is ignored on purpose.
  }
  return s;
}

function controlPicture(ch) {
  const code = ch.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code); // ␀ .. ␟
  if (code === 0x7f) return "\u2421"; // ␡
  return "\ufffd";
}

/**
 * Parse a line into { text, runs }: `text` is what a reader sees (escapes removed,
 * stray controls shown as control pictures), `runs` is a list of
 * { start, end, style } covering styled stretches of `text` (unstyled gaps omitted).
 */
export function parseAnsi(line) {
  if (!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(line)) return { text: line, runs: [] };
  let text = "";
  const runs = [];
  let style = {};
  let last = 0;
  const push = (chunk) => {
    if (!chunk) return;
    const clean = chunk.replace(CONTROL, controlPicture);
    const start = text.length;
    text += clean;
    if (Object.keys(style).length) runs.push({ start, end: text.length, style });
  };
  ESCAPE.lastIndex = 0;
  let m;
  while ((m = ESCAPE.exec(line)) !== null) {
    push(line.slice(last, m.index));
    last = ESCAPE.lastIndex;
    if (m[0].length === 0) { ESCAPE.lastIndex++; continue; }
    const final = m[3] ?? m[6];
    const params = m[1] ?? m[4];
    const inter = m[2] ?? m[5];
    if (final === "m" && !inter && /^[\d;:]*$/.test(params)) style = applySgr(style, params);
  }
  push(line.slice(last));
  return { text, runs };
}
