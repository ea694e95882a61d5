"""Random credentials that are shown once and stored only as a SHA-256 digest.

The tokens carry 256 bits of entropy, so a fast hash is enough (as GitHub and Stripe do);
a slow password hash would only make every API request slower.
"""

import hashlib
import secrets


def token_generate(*, prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
