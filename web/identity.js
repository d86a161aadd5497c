// identity: who is signed in, shown beside the sign-out button (#whoami), from
// GET api/session: {via, user, scoped, expires, sign_out_url}. The name is the
// JWT's subject or the proxy's user; the shared token shows as "token". What
// the user may not read needs nothing here: the server leaves it out of the
// file list. After sign-out, a proxy's session is ended too when the server
// names where (--sign-out-url). Never sees or keeps a credential.

const $ = (id) => document.getElementById(id);
const VIA = { jwt: "a token", proxy: "your sign-in proxy", token: "the shared token" };

/** Ask the server who we are and show it (nothing when no sign-in is needed). */
export async function showIdentity() {
  let who = null;
  try {
    const r = await fetch("api/session", { cache: "no-store" });
    if (r.ok) who = await r.json();
  } catch { /* shown again on the next sign-in */ }
  const el = $("whoami");
  if (!who || !who.authenticated || !who.via || who.via === "open") {
    clearIdentity();
    return;
  }
  el.textContent = who.user || "token";
  const until = who.expires ? `, until ${new Date(who.expires).toLocaleString()}` : "";
  const some = who.scoped ? " You see only the files you may read." : "";
  el.title = `Signed in${who.user ? ` as ${who.user}` : ""} with ${VIA[who.via] || who.via}${until}.${some}`;
  el.hidden = false;
}

export function clearIdentity() {
  $("whoami").hidden = true;
  $("whoami").textContent = "";
}

/** After POST api/logout answered `body`: go where the proxy's session ends, if
 * the server names such a place. True if the page is leaving. */
export function leave(body) {
  const url = body && body.sign_out_url;
  if (typeof url !== "string" || !/^(\/|https?:\/\/)/.test(url)) return false;
  location.assign(url);
  return true;
}
