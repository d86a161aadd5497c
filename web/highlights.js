// highlights: the panel where the reader adds and removes highlight rules
// (rules.js), adds presets, and chooses how timestamps are shown. The rules are
// saved in local storage and the permalink (state.js); changes are reported
// through onRules / onTimeMode.

import { cleanRules, COLOURS, compile, PRESETS, RULES_KEY } from "./rules.js";
import { state, writeHash } from "./state.js";
import { TIME_MODES } from "./timefmt.js";

const $ = (id) => document.getElementById(id);
export class HighlightPanel {
  /** onRules(): the rules changed; onTimeMode(mode): the timestamp display changed. */
  constructor({ onRules, onTimeMode }) {
    this.onRules = onRules;
    $("look-open").addEventListener("click", () => { this.render(); $("look").showModal(); });
    $("hl-add").addEventListener("submit", (e) => {
      e.preventDefault();
      const re = $("hl-re").value;
      if (!re) return;
      if (!compile(re)) {
        $("hl-error").textContent = "Not a valid regular expression (JavaScript syntax)";
        $("hl-error").hidden = false;
        return;
      }
      $("hl-error").hidden = true;
      this.setRules([...state.rules, { re, colour: $("hl-colour").value }]);
      $("hl-re").value = "";
    });
    const presets = PRESETS.map((p) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn preset";
      b.textContent = p.name;
      b.addEventListener("click", () => {
        const have = new Set(state.rules.map((r) => r.re));
        this.setRules([...state.rules, ...p.rules.filter((r) => !have.has(r.re))]);
      });
      return b;
    });
    $("hl-presets").replaceChildren(...presets);
    $("hl-colour").replaceChildren(...COLOURS.map((c) => new Option(c, c)));
    $("time-mode").replaceChildren(...TIME_MODES.map((m) => new Option({
      written: "as written", local: "local time", utc: "UTC", relative: "relative (3 s ago)",
    }[m], m)));
    $("time-mode").addEventListener("change", (e) => onTimeMode(e.target.value));
  }

  setRules(rules) {
    state.rules = cleanRules(rules);
    localStorage.setItem(RULES_KEY, JSON.stringify(state.rules));
    writeHash();
    this.render();
    this.onRules();
  }

  /** The list of rules, each with its colour and a remove button. */
  render() {
    const items = state.rules.map((r, i) => {
      const li = document.createElement("li");
      const sample = document.createElement("code");
      sample.className = `hl hl-${r.colour}`;
      sample.textContent = r.re;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-btn";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove the rule ${r.re}`);
      remove.addEventListener("click", () => this.setRules(state.rules.filter((_, j) => j !== i)));
      li.append(sample, remove);
      return li;
    });
    $("hl-list").replaceChildren(...items);
    $("hl-none").hidden = items.length > 0;
  }

  showTimeMode(mode) { $("time-mode").value = mode; }
}
