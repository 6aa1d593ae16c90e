"""`%load_ext hitl_nb`: a paused `graph.invoke(...)` result displays as a review widget.

The result of `invoke` is a plain dict (or a `GraphOutput`) that does not say which
graph and thread produced it. While the extension is loaded, `Pregel.invoke` is wrapped
to remember, for each paused result object, its graph, config and run options; a
mimebundle formatter then turns exactly those objects into a `Session` widget. Every
other dict displays as usual, and unloading restores both.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from typing import Any

from IPython.utils.dir2 import get_real_method
from langchain_core.runnables.config import merge_configs
from langgraph.pregel import Pregel
from langgraph.types import GraphOutput

from ._session import RUN_OPTIONS, Session, _has_checkpointer

_REMEMBER = 64
"""Paused results remembered at once (enough for a notebook; old ones fall off)."""

class _Run:
    """What produced a paused result: enough to resume it exactly as it was started."""

    __slots__ = ("asynchronous", "config", "graph", "options", "out")

    def __init__(self, out: Any, graph: Any, config: dict[str, Any], options: dict[str, Any],
                 asynchronous: bool) -> None:
        self.out, self.graph, self.config = out, graph, config
        self.options, self.asynchronous = options, asynchronous


_paused: OrderedDict[int, _Run] = OrderedDict()
_originals: dict[str, Any] = {}
_displaced: dict[type, Any] = {}


def _is_paused(out: Any) -> bool:
    if isinstance(out, GraphOutput):
        return bool(out.interrupts)
    return isinstance(out, dict) and bool(out.get("__interrupt__"))


def _at_breakpoint(graph: Any, config: dict[str, Any], options: dict[str, Any]) -> bool:
    """A static breakpoint (`interrupt_before=` / `interrupt_after=`) pauses without an
    `Interrupt`: only the checkpoint says so. Read it only for graphs that have one (and
    a checkpointer: without one the run just finished; the wrapper never raises)."""
    if not (graph.interrupt_before_nodes or graph.interrupt_after_nodes
            or options.get("interrupt_before") or options.get("interrupt_after")):
        return False
    if not _has_checkpointer(graph, config):
        return False
    try:
        snap = graph.get_state(config)
    except asyncio.InvalidStateError:  # an async-only checkpointer on its own loop
        return False
    return bool(snap.next) and not snap.interrupts


def _remember(out: Any, graph: Any, config: Any, options: dict[str, Any],
              asynchronous: bool) -> None:
    if graph.config:  # graph.with_config(configurable={"thread_id": ...})
        config = merge_configs(graph.config, config)
    if not isinstance(config, dict) or not (config.get("configurable") or {}).get("thread_id"):
        return
    # our own copy: the caller may reuse the dict for the next thread before displaying
    config = {**config, "configurable": dict(config["configurable"])}
    kept = {k: v for k, v in options.items() if k in RUN_OPTIONS}
    if _is_paused(out) or (isinstance(out, dict | GraphOutput)
                           and _at_breakpoint(graph, config, kept)):
        _paused[id(out)] = _Run(out, graph, config, kept, asynchronous)
        while len(_paused) > _REMEMBER:
            _paused.popitem(last=False)


def _wrap_invoke(original: Any) -> Any:
    @functools.wraps(original)
    def invoke(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        out = original(self, input, config, **kwargs)
        _remember(out, self, config, kwargs, asynchronous=False)
        return out

    return invoke


def _wrap_ainvoke(original: Any) -> Any:
    @functools.wraps(original)
    async def ainvoke(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        out = await original(self, input, config, **kwargs)
        _remember(out, self, config, kwargs, asynchronous=True)
        return out

    return ainvoke


def session_for(out: Any) -> Session | None:
    """The review session for a paused result produced while the extension is loaded."""
    run = _paused.get(id(out))
    if run is None or run.out is not out:
        return None
    return Session.attach(run.graph, run.config, run_options=run.options,
                          asynchronous=run.asynchronous)


BATCH_OVER = 50
"""A paused result with more pending requests than this displays as a `BatchReview`."""


def _mimebundle(obj: Any) -> Any:
    session = session_for(obj)
    if session is None:  # not ours: display it as it would be without the extension
        return _as_before(obj)
    if len(session.pending) > BATCH_OVER:  # thousands of cards would drown the page
        from .widgets.batch import BatchReview

        return BatchReview(session)._repr_mimebundle_()
    from .widgets.plan import view  # a plan view joins the widget for shared plans

    return view(session)._repr_mimebundle_()


def _as_before(obj: Any) -> Any:
    """The printer this extension displaced for the type, else the object's own
    `_repr_mimebundle_` (a registered printer shadows that method, even one that
    returns None)."""
    for kind, previous in _displaced.items():
        if previous is not None and isinstance(obj, kind):
            return previous(obj)
    method = get_real_method(obj, "_repr_mimebundle_")
    return method() if method is not None else None


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
        if formatter.type_printers.get(kind) is _mimebundle:  # not one set after ours
            formatter.pop(kind, None)
            if previous is not None:
                formatter.for_type(kind, previous)
    _displaced.clear()
    _paused.clear()
