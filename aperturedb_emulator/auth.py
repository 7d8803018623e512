"""Users, API tokens and sessions, as the SDK's Connector expects them.

`Authenticate` with username+password or with an API token (`adbp_...`) opens a
session: a session token (`adbs_...`, sent in every message's `token` field)
and a refresh token (`adbr_...`, exchanged by `RefreshToken` for a new pair;
each refresh token works once). A message with a missing, unknown or expired
session token gets the top-level `{"status": -1, "info": "Not Authenticated!"}`.
"""
import secrets
import threading
import time

from .errors import STATUS_ERROR, STATUS_OK


class Auth:
    def __init__(self, users, session_ttl=3600, refresh_ttl=86400):
        self.users = dict(users)                # username -> password
        self.api_tokens = {}                    # token -> username
        self.session_ttl = int(session_ttl)
        self.refresh_ttl = int(refresh_ttl)
        self._sessions = {}                     # token -> (user, expires_at)
        self._refresh = {}                      # token -> (user, expires_at)
        self._lock = threading.Lock()

    def create_token(self, username):
        if username not in self.users:
            raise KeyError(f"unknown user {username!r}")
        token = "adbp_" + secrets.token_urlsafe(24)
        with self._lock:
            self.api_tokens[token] = username
        return token

    def revoke_sessions(self):
        with self._lock:
            self._sessions.clear()
            self._refresh.clear()

    def session_user(self, token):
        if not token:
            return None
        with self._lock:
            entry = self._sessions.get(token)
            if entry is None:
                return None
            if entry[1] < time.time():
                del self._sessions[token]
                return None
            return entry[0]

    def _open(self, user):
        now = time.time()
        s = "adbs_" + secrets.token_urlsafe(24)
        r = "adbr_" + secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[s] = (user, now + self.session_ttl)
            self._refresh[r] = (user, now + self.refresh_ttl)
        return {"status": STATUS_OK, "session_token": s, "refresh_token": r,
                "session_token_expires_in": self.session_ttl,
                "refresh_token_expires_in": self.refresh_ttl}

    def authenticate(self, params):
        if not isinstance(params, dict):
            return {"status": STATUS_ERROR, "info": "Authenticate: parameters must be an object"}
        for key in params:
            if key not in ("username", "password", "token"):   # what the SDK's Connector sends
                return {"status": STATUS_ERROR, "info": f"Authenticate: unknown parameter '{key}'"}
        user = params.get("username")
        if "token" in params:
            owner = self.api_tokens.get(params["token"])
            if owner is None or (user not in (None, "") and user != owner):
                return {"status": STATUS_ERROR, "info": "Authentication failed: invalid token"}
            return self._open(owner)
        password = params.get("password")
        if user in self.users and isinstance(password, str) and \
                secrets.compare_digest(self.users[user].encode(), password.encode()):
            return self._open(user)
        return {"status": STATUS_ERROR, "info": "Authentication failed: wrong username or password"}

    def refresh(self, params):
        if isinstance(params, dict) and set(params) - {"refresh_token"}:
            unknown = sorted(set(params) - {"refresh_token"})[0]
            return {"status": STATUS_ERROR, "info": f"RefreshToken: unknown parameter '{unknown}'"}
        token = params.get("refresh_token") if isinstance(params, dict) else None
        with self._lock:
            entry = self._refresh.pop(token, None) if isinstance(token, str) else None
        if entry is None or entry[1] < time.time():
            return {"status": STATUS_ERROR, "info": "Invalid or expired refresh token"}
        return self._open(entry[0])
