// session: the optional access token. The server may ask for one: the viewer
// asks the reader once (#login), trades it for an HttpOnly session cookie
// (POST api/login), which fetch sends with every stream, and signs out with
// POST api/logout. Owns the sign-in form, the sign-out button and whether we
// are signed in. Never stores the token (not in storage, the URL or a
// variable) and never opens a connection: onSignIn and onSignOut do that.

import { clearIdentity, leave, showIdentity } from "./identity.js";

const $ = (id) => document.getElementById(id);

async function fetchSession() {
  try {
    const r = await fetch("api/session", { cache: "no-store" });
    if (r.ok) return await r.json();
  } catch { /* an older server without sessions: carry on */ }
  return { required: false, authenticated: true };
}

export class Session {
  /**
   * onSignIn(): signed in, or no token needed: start (may be async).
   * onSignOut(): the server wants a token (again): drop every connection.
   */
  constructor({ onSignIn, onSignOut }) {
    this.onSignIn = onSignIn;
    this.onSignOut = onSignOut;
    this.signedIn = false;
    this.refusal = ""; // why the server refuses this user, if it said

    $("login-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      let ok = false;
      try {
        const r = await fetch("api/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ token: $("token").value }),
          cache: "no-store",
        });
        ok = r.ok;
      } catch {
        this.showLogin("Cannot reach the server. Try again.");
        return;
      }
      if (!ok) {
        this.showLogin("That token was not accepted.");
        $("token").select();
        return;
      }
      $("token").value = "";
      $("login").hidden = true;
      $("logout").hidden = false;
      await this.enter();
    });

    $("logout").addEventListener("click", async () => {
      let body = null;
      try {
        const r = await fetch("api/logout", { method: "POST", cache: "no-store" });
        body = await r.json();
      } catch { /* shown below anyway */ }
      $("logout").hidden = true;
      clearIdentity();
      if (leave(body)) return; // a proxy's session ends there
      this.showLogin();
    });
  }

  /** Ask the server whether a token is required: {required, authenticated}. */
  async check() {
    const auth = await fetchSession();
    if (auth.required) $("logout").hidden = !auth.authenticated;
    this.refusal = auth.error || ""; // e.g. a proxy's user who may read nothing
    return auth;
  }

  /** From here on we are signed in (or need not be): start. */
  async enter() {
    this.signedIn = true;
    showIdentity();
    await this.onSignIn();
  }

  /** Show the sign-in form (again, with `message` after a failed try). */
  showLogin(message = this.refusal || "") {
    if (!$("login").hidden && !message) return;
    this.signedIn = false;
    this.onSignOut();
    clearIdentity(); // e.g. the token's cookie expired: nobody is signed in now
    $("login").hidden = false;
    $("login-error").hidden = !message;
    $("login-error").textContent = message;
    $("token").focus();
  }
}
