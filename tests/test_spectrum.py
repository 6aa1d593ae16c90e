"""The HITL spectrum is explicit: every request carries its level, and every widget shows it
in the seed's colours with text that meets WCAG AA contrast."""

from __future__ import annotations

import re

import pytest
from conftest import config
from graphs import plain_graph

import hitl_nb
from hitl_nb._schema import LEVELS
from hitl_nb.widgets.feed import FeedWidget

SEED = {"autonomy": "#4caf50", "notify": "#8bc34a", "confirm": "#ffc107",
        "collaborate": "#ff9800", "human_leads": "#f44336"}  # seed/human-in-the-loop.md


def luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of #rrggbb."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_on_known_pairs():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#4caf50") == pytest.approx(2.78, abs=0.01)  # why not white


def level_rules(css: str) -> tuple[dict[str, str], dict[str, str]]:
    """(background per level, text colour per level) as the CSS cascade would give them."""
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))
    base = next(body for sel, body in rules.items() if sel.strip().endswith(".hitl-level"))
    base_colour = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})", base)
    backgrounds, colours = {}, {}
    for level in LEVELS:
        body = next(b for s, b in rules.items() if s.strip().endswith(f".hitl-level-{level}"))
        backgrounds[level] = re.search(r"background:\s*(#[0-9a-fA-F]{6})", body).group(1).lower()
        own = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6}|#000)", body)
        colour = (own or base_colour).group(1).lower()
        colours[level] = "#000000" if colour == "#000" else colour
    return backgrounds, colours


WIDGET_CLASSES = [hitl_nb.ReviewWidget, hitl_nb.BatchReview, FeedWidget, hitl_nb.PlanWidget]


@pytest.mark.parametrize("widget", WIDGET_CLASSES, ids=lambda w: w.__name__)
def test_level_chips_use_the_seed_colours_with_accessible_text(widget):
    """The styles each widget actually ships (shared rules first, then its own)."""
    backgrounds, colours = level_rules(str(widget._css))
    assert backgrounds == SEED
    for level in LEVELS:
        assert contrast(backgrounds[level], colours[level]) >= 4.5, (widget.__name__, level)


def test_every_payload_kind_carries_a_level(graph):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    session = hitl_nb.Session(graph, config()).invoke(
        {"messages": [("user", "delete account 7")]})
    assert [r.level for r in session.pending] == ["human_leads"]
    assert session.widget().requests[0]["level"] == "human_leads"
    plain = hitl_nb.Session(plain_graph("ok?"), config()).invoke({})
    assert plain.pending[0].level == "confirm"

    class S(TypedDict, total=False):
        n: int

    builder = StateGraph(S)
    builder.add_node("step", lambda s: {"n": 1})
    builder.add_edge(START, "step")
    paused = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["step"])
    breakpoint_session = hitl_nb.Session(paused, config()).invoke({})
    assert breakpoint_session.pending[0].level == "confirm"
    batch = hitl_nb.BatchReview([session, plain])
    assert {r["level"] for r in batch.rows} == {"human_leads", "confirm"}
    hitl_nb.notify(action="tag", level="autonomy")
    assert hitl_nb.feed().widget().items[0]["level"] == "autonomy"
