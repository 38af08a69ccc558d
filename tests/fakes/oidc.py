"""A fake OpenID Connect provider: discovery, authorise, token, JWKS and user info, on the wire.

``/authorize`` approves at once as ``person`` (the claims of whoever is "signed in" there) and
sends the browser back to ``redirect_uri`` with a code; ``/token`` checks the client's secret
(``client_secret_basic`` or ``_post``), the redirect URI and the PKCE verifier, and answers an
RS256 ID token signed with a key made at start. Knobs make it misbehave the ways real providers
and attackers do: ``wrong_audience``, ``wrong_nonce``, ``bad_signature`` (signed by another key
under the same ``kid``), ``id_token_ttl`` (negative: already expired), ``token_status`` (a 5xx at
the token endpoint), ``deny`` (the person refuses) and ``auth_methods`` (what discovery offers).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.base import FakeServer, Request, Response

CLIENT_ID = "escucha-test"
CLIENT_SECRET = "fake-oidc-secret"
KID = "fake-key-1"


@functools.cache
def _rsa_key(which: str) -> RSAKey:
    """A signing key made once per test run (``which`` tells the real one from the rogue one)."""
    return RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"})


class FakeOidcProvider(FakeServer):
    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.key = _rsa_key("provider")
        self.rogue_key = _rsa_key("rogue")  # same kid, another key: a forged token
        self.reset()
        self.route("GET", r"/\.well-known/openid-configuration", self.discovery)
        self.route("GET", r"/authorize", self.authorize)
        self.route("POST", r"/token", self.token)
        self.route("GET", r"/jwks", self.jwks)
        self.route("GET", r"/userinfo", self.userinfo)

    def reset(self) -> None:
        """Back to a well-behaved provider with Lucía signed in (a fake shared between tests)."""
        self.person: dict[str, Any] = {
            "sub": "u-1001", "email": "lucia@example.com", "email_verified": True,
            "name": "Lucía Pérez", "preferred_username": "lucia",
        }  # fmt: skip
        self.claims_in_id_token = True  # False: the person's claims come only from /userinfo
        self.auth_methods = ["client_secret_basic", "client_secret_post"]
        self.wrong_audience = False
        self.wrong_nonce = False
        self.bad_signature = False
        self.id_token_ttl = 300
        self.token_status: int | None = None
        self.deny = False
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.nonces: list[str] = []  # every nonce an authorisation request carried
        self.client_auth_used: list[str] = []  # how the client authenticated at /token
        with self.lock:
            self.requests.clear()
            self.faults.clear()

    # -- protocol ----------------------------------------------------------------------------
    def discovery(self, request: Request) -> Response:
        return Response(200, {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
        })  # fmt: skip

    def authorize(self, request: Request) -> Response:
        query = request.query
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return Response(400, {"error": "invalid_request"})
        if "openid" not in query.get("scope", "").split():
            return Response(400, {"error": "invalid_scope"})
        redirect_uri = query["redirect_uri"]
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self.nonces.append(query.get("nonce", ""))
            self.codes[code] = {
                "nonce": query.get("nonce"), "redirect_uri": redirect_uri,
                "challenge": query.get("code_challenge"),
                "method": query.get("code_challenge_method"), "person": dict(self.person),
                "used": False,
            }  # fmt: skip
            back["code"] = code
        return Response(302, b"", {"Location": f"{redirect_uri}?{urlencode(back)}"})

    def _client(self, request: Request, form: dict[str, str]) -> str | None:
        """The authenticated client id and how, or None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            method = "client_secret_basic"
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            method = "client_secret_post"
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return None
        self.client_auth_used.append(method)
        return client_id

    def token(self, request: Request) -> Response:
        if self.token_status is not None:
            return Response(self.token_status, b"<html>upstream error</html>",
                            {"Content-Type": "text/html"})  # fmt: skip
        form = request.form()
        if self._client(request, form) is None:
            return Response(401, {"error": "invalid_client"})
        grant = self.codes.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant["used"]:
            return Response(400, {"error": "invalid_grant"})
        grant["used"] = True
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return Response(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if grant["method"] != "S256" or challenge.rstrip(b"=").decode() != grant["challenge"]:
            return Response(400, {"error": "invalid_grant", "error_description": "PKCE"})
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = grant["person"]
        return Response(200, {
            "access_token": access_token, "token_type": "Bearer", "expires_in": 300,
            "id_token": self.id_token(grant["person"], grant["nonce"]),
        }, {"Cache-Control": "no-store"})  # fmt: skip

    def id_token(self, person: dict[str, Any], nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url, "sub": person["sub"],
            "aud": "someone-else" if self.wrong_audience else CLIENT_ID,
            "iat": now, "exp": now + self.id_token_ttl, "auth_time": now,
        }  # fmt: skip
        if nonce is not None:
            claims["nonce"] = "not-your-nonce" if self.wrong_nonce else nonce
        if self.claims_in_id_token:
            claims.update({k: v for k, v in person.items() if k != "sub"})
        key = self.rogue_key if self.bad_signature else self.key
        return jwt.encode({"alg": "RS256", "kid": KID, "typ": "JWT"}, claims, key)

    def jwks(self, request: Request) -> Response:
        return Response(200, {"keys": [self.key.as_dict(private=False)]})

    def userinfo(self, request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        person = self.access_tokens.get(value) if scheme.lower() == "bearer" else None
        if person is None:
            return Response(401, {"error": "invalid_token"})
        return Response(200, person)
