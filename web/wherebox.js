// wherebox: the field filter box next to the text filter. Clauses in the
// server's `where=` syntax (`level>=warn; http.status>=500`: `;` separates
// them, all must hold); a change restarts the stream through onChange; a
// clause the server refused (its 400) is told under the box, with a caret at
// the character it names. Never opens a connection.

import { state, whereClauses, writeHash } from "./state.js";

const $ = (id) => document.getElementById(id);
const DELAY_MS = 400;

export class WhereBox {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.timer = null;
    const input = $("where");
    input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.apply(), DELAY_MS);
    });
    $("where-form").addEventListener("submit", (e) => { e.preventDefault(); this.apply(); });
  }

  apply() {
    clearTimeout(this.timer);
    const text = $("where").value;
    if (text === state.where) return;
    state.where = text;
    writeHash();
    this.onChange();
  }

  /** The box shows the view state (the hash was read anew). */
  load() {
    $("where").value = state.where;
  }

  /**
   * The server refused a clause: "where: 'levle>=warn': at character 6:
   * expected an operator". Say it under the box, the clause with a caret.
   */
  showError(message) {
    const body = message.replace(/^where: /, "");
    const err = $("filter-error");
    const head = document.createElement("span");
    head.textContent = `Field filter: ${body}`;
    const parts = [head];
    const at = /at character (\d+)/.exec(body);
    const clause = whereClauses().find((c) => body.startsWith(`'${c.slice(0, 80)}'`) || body.startsWith(`"${c.slice(0, 80)}"`));
    if (clause) {
      const pre = document.createElement("pre");
      pre.className = "filter-caret";
      pre.textContent = at ? `${clause}\n${" ".repeat(Math.max(0, Number(at[1]) - 1))}^` : clause;
      parts.push(pre);
    }
    err.replaceChildren(...parts);
    err.hidden = false;
    $("where").setAttribute("aria-invalid", "true");
  }

  hideError() { $("where").removeAttribute("aria-invalid"); }
}
