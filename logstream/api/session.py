"""api.session: sign-in for the viewer. ``POST /api/login`` trades the shared
token or a JWT for an HttpOnly session cookie, ``POST /api/logout`` drops it (and
names ``--sign-out-url``, where a proxy's session ends), ``GET /api/session`` says
whether credentials are required, whether this client has them, and who it is
(``identity.Identity.as_json``).

Never stores or echoes the token; the cookie is scoped to the app's base path and
a JWT's cookie expires no later than the JWT.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import COOKIE
from ..errors import Forbidden, LogstreamError
from . import runtime

bp = Blueprint("session", __name__)

OPEN_ROUTES = {"/api/login", "/api/logout", "/api/session"}  # reachable without a token


@bp.post("/api/login")
def login():
    auth = runtime().auth
    body = request.get_json(silent=True) if request.is_json else request.form
    token = (body or {}).get("token") if hasattr(body or {}, "get") else None
    if not auth.required:
        return jsonify(authenticated=True, required=False)
    value, max_age, _ = auth.sign_in(token)
    response = jsonify(authenticated=True, required=True)  # who: GET api/session
    response.set_cookie(COOKIE, value, max_age=max_age, httponly=True,
                        samesite="Strict", secure=request.is_secure, path=request.script_root + "/")
    return response


@bp.post("/api/logout")
def logout():
    auth = runtime().auth
    response = jsonify(authenticated=False, required=auth.required, sign_out_url=auth.sign_out_url)
    response.delete_cookie(COOKIE, path=request.script_root + "/", httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response


@bp.get("/api/session")
def session():
    auth = runtime().auth
    out = {"required": auth.required, "authenticated": False, "sign_out_url": auth.sign_out_url}
    try:
        out.update(authenticated=True, **auth.check(request.headers, request.cookies, request.args).as_json())
    except Forbidden as exc:
        out.update(authenticated=False, error=exc.message)  # signed in by the proxy, but may read nothing
    except LogstreamError:
        out.update(authenticated=False)
    return jsonify(out)
