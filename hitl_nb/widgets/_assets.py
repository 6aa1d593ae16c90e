"""Each widget's front end: the shared helpers, then the widget's own module or styles.

anywidget loads a widget's ESM as one module from a string, so `shared.js` cannot be
imported by a relative path; putting it in front keeps a single copy of the helpers
(`h`, `fieldEditor`, the level labels) and of the spectrum colours in `shared.css`.
"""

from __future__ import annotations

import pathlib

_HERE = pathlib.Path(__file__).parent


def esm(name: str) -> str:
    """`shared.js` followed by the widget's own `name` (e.g. "review.js")."""
    return _joined("shared.js", name)


def css(*names: str) -> str:
    """`shared.css` followed by the widget's own `names` (e.g. "review.css"; a widget built
    on another one's classes lists that one's first)."""
    return _joined("shared.css", *names)


def _joined(shared: str, *own: str) -> str:
    return "\n".join((_HERE / name).read_text() for name in (shared, *own))
