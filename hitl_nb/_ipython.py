"""`%load_ext hitl_nb`: a paused `graph.invoke(...)` result displays as a review widget.

The result of `invoke` is a plain dict (or a `GraphOutput`) that does not say which
graph and thread produced it. While the extension is loaded, `Pregel.invoke` is wrapped
to remember, for each paused result object, its graph and config; a mimebundle
formatter then turns exactly those objects into a `Session` widget. Every other dict
displays as usual, and unloading restores both.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

from langgraph.pregel import Pregel
from langgraph.types import GraphOutput

from ._session import Session

_REMEMBER = 64
"""Paused results remembered at once (enough for a notebook; old ones fall off)."""

_paused: OrderedDict[int, tuple[Any, Any, dict[str, Any]]] = OrderedDict()
_originals: dict[str, Any] = {}
_displaced: dict[type, Any] = {}


def _is_paused(out: Any) -> bool:
    if isinstance(out, GraphOutput):
        return bool(out.interrupts)
    return isinstance(out, dict) and bool(out.get("__interrupt__"))


def _remember(out: Any, graph: Any, config: Any) -> None:
    if _is_paused(out) and isinstance(config, dict):
        _paused[id(out)] = (out, graph, config)
        while len(_paused) > _REMEMBER:
            _paused.popitem(last=False)


def _wrap_invoke(original: Any) -> Any:
    @functools.wraps(original)
    def invoke(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        out = original(self, input, config, **kwargs)
        _remember(out, self, config)
        return out

    return invoke


def _wrap_ainvoke(original: Any) -> Any:
    @functools.wraps(original)
    async def ainvoke(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        out = await original(self, input, config, **kwargs)
        _remember(out, self, config)
        return out

    return ainvoke


def session_for(out: Any) -> Session | None:
    """The review session for a paused result produced while the extension is loaded."""
    entry = _paused.get(id(out))
    if entry is None or entry[0] is not out:
        return None
    _, graph, config = entry
    return Session.attach(graph, config)


BATCH_OVER = 50
"""A paused result with more pending requests than this displays as a `BatchReview`."""


def _mimebundle(obj: Any) -> Any:
    session = session_for(obj)
    if session is None:
        return None
    if len(session.pending) > BATCH_OVER:  # thousands of cards would drown the page
        from .widgets.batch import BatchReview

        return BatchReview(session)._repr_mimebundle_()
    from .widgets.plan import view  # a plan view joins the widget for shared plans

    return view(session)._repr_mimebundle_()


def load_ipython_extension(ip: Any) -> None:
    if _originals:
        return  # already loaded
    _originals["invoke"] = Pregel.invoke
    _originals["ainvoke"] = Pregel.ainvoke
    Pregel.invoke = _wrap_invoke(Pregel.invoke)  # type: ignore[method-assign]
    Pregel.ainvoke = _wrap_ainvoke(Pregel.ainvoke)  # type: ignore[method-assign]
    formatter = ip.display_formatter.mimebundle_formatter
    for kind in (dict, GraphOutput):
        _displaced[kind] = formatter.for_type(kind, _mimebundle)


def unload_ipython_extension(ip: Any) -> None:
    if not _originals:
        return
    Pregel.invoke = _originals.pop("invoke")  # type: ignore[method-assign]
    Pregel.ainvoke = _originals.pop("ainvoke")  # type: ignore[method-assign]
    formatter = ip.display_formatter.mimebundle_formatter
    for kind, previous in _displaced.items():
        formatter.pop(kind, None)
        if previous is not None:
            formatter.for_type(kind, previous)
    _displaced.clear()
    _paused.clear()
