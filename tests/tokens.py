"""AgentOS-style tokens for the test suites: HS256, `sub`, a `scopes` list and `exp`, no
`role` claim (as AgentOS signs them). One home for how every suite mints them; a suite
imports it after putting tests/ on sys.path (its conftest does)."""

import time

import jwt

ALL_SCOPES = ("learnings:read", "learnings:write", "learnings:delete")
ADMIN_SCOPES = ("agent_os:admin",)


def mint(secret, sub="alice", scopes=ALL_SCOPES, exp_in=3600, **claims):
    """A token signed with `secret`; `sub=None` or `scopes=None` leave the claim out."""
    payload = {"exp": int(time.time()) + exp_in, **claims}
    if sub is not None:
        payload["sub"] = sub
    if scopes is not None:
        payload["scopes"] = list(scopes)
    return jwt.encode(payload, secret, algorithm="HS256")
