"""api.session: sign-in for the viewer. ``POST /api/login`` trades the token for
an HttpOnly session cookie, ``POST /api/logout`` drops it, ``GET /api/session``
says whether a token is required and whether this client has signed in.

Never stores or echoes the token; the cookie is scoped to the app's base path.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import COOKIE, SESSION_SECONDS
from ..errors import Unauthorized
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
    if not isinstance(token, str) or not auth.token_matches(token):
        raise Unauthorized("authentication required")
    response = jsonify(authenticated=True, required=True)
    response.set_cookie(COOKIE, auth.session(), max_age=SESSION_SECONDS, httponly=True,
                        samesite="Strict", secure=request.is_secure, path=request.script_root + "/")
    return response


@bp.post("/api/logout")
def logout():
    response = jsonify(authenticated=False, required=runtime().auth.required)
    response.delete_cookie(COOKIE, path=request.script_root + "/", httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response


@bp.get("/api/session")
def session():
    auth = runtime().auth
    try:
        auth.check(request.headers, request.cookies, request.args)
        authenticated = True
    except Unauthorized:
        authenticated = False
    return jsonify(required=auth.required, authenticated=authenticated)
