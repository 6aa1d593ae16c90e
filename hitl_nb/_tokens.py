"""The one-time tokens widgets issue with each offer, checked on every front-end message."""

from __future__ import annotations

import secrets
from typing import Any


def same_token(given: Any, issued: str | None) -> bool:
    """True when a message carries exactly the token issued (a string; compared in
    constant time). Anything else from the page is refused, never raised on: a
    non-ASCII string would make `secrets.compare_digest` raise TypeError."""
    if not isinstance(given, str) or not issued:
        return False
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"),
                                  issued.encode("utf-8", "surrogatepass"))
