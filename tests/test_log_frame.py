"""The log's DataFrame follows the documented schema and round-trips through parquet."""

from __future__ import annotations

import gc
import hashlib
import math
import pathlib
import re
import tempfile
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

import hitl_nb
from hitl_nb._log import COLUMNS, DECISIONS, read_parquet
from hitl_nb._schema import ACTIONS, LEVELS, Decision, ReviewRequest, canonical_json

DOC = pathlib.Path(__file__).parents[1] / "docs" / "feedback_log.md"
JSON_COLUMNS = ("proposed_args", "final_args", "patch")


def documented() -> dict[str, str]:
    """column -> dtype text, from the table in docs/feedback_log.md."""
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.M)
    return {name: dtype.strip() for name, dtype in rows}


def sample_log() -> hitl_nb.FeedbackLog:
    log = hitl_nb.FeedbackLog()
    request = ReviewRequest(request_id="r1", interrupt_id="r1", kind="ask", action="refund",
                            args={"amount": 80.0, "note": "n"}, confidence=0.6, risk="high",
                            level="confirm", gate="threshold", agent="support")
    log.record(request, Decision(action="edit", args={"amount": 60.0, "note": "n"},
                                 reviewer="ann", rating=4))
    log.record(request, None)
    return log


def test_every_column_is_documented_with_its_dtype():
    doc = documented()
    assert list(doc) == list(COLUMNS)
    df = sample_log().to_pandas()
    for col, text in doc.items():
        dtype = df[col].dtype
        categorical = isinstance(dtype, pd.CategoricalDtype)
        if text == "str":
            assert pd.api.types.is_string_dtype(dtype), col
            assert not pd.api.types.is_object_dtype(dtype), col
        elif text == "ordered category":
            assert categorical, col
            assert dtype.ordered, col
        elif text == "category":
            assert categorical, col
            assert not dtype.ordered, col
        elif text.startswith("object"):
            assert pd.api.types.is_object_dtype(dtype), col
        else:
            assert str(dtype) == text, col


def test_fixed_vocabularies_keep_all_their_categories():
    df = sample_log().to_pandas()
    assert list(df["decision"].cat.categories) == list(DECISIONS)
    assert list(df["spectrum_level"].cat.categories) == list(LEVELS)
    assert df["spectrum_level"].cat.ordered
    assert df["requested_at"].dt.tz == UTC
    # an empty log has the same dtypes as a full one
    empty = hitl_nb.FeedbackLog().to_pandas()
    assert list(empty.columns) == list(COLUMNS)
    open_vocabularies = ["action_name", "framework", "risk", "source"]  # categories = values
    assert empty.dtypes.drop(open_vocabularies).equals(df.dtypes.drop(open_vocabularies))
    assert all(isinstance(empty[c].dtype, pd.CategoricalDtype) for c in open_vocabularies)


def test_read_parquet_names_the_fix_for_a_foreign_file(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(ValueError, match=r"FeedbackLog\.to_parquet"):
        read_parquet(str(tmp_path / "x.parquet"))


# -- round trip (hypothesis) ------------------------------------------------------------
text = st.text(max_size=12)  # any unicode, incl. empty and NUL
json_scalars = (st.none() | st.booleans() | st.integers(-2**53, 2**53)
                | st.floats(allow_nan=True, allow_infinity=False) | text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(text, inner, max_size=3), max_leaves=8)
args = st.dictionaries(text, json_values, max_size=4)
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                         timezone(-timedelta(hours=8))])
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=zones)


@st.composite
def entries(draw: st.DrawFn) -> tuple[ReviewRequest, Decision | None, str | None]:
    asked = draw(moments)
    request = ReviewRequest(
        request_id=draw(text), interrupt_id="i", kind="ask", action=draw(text),
        args=draw(args), preview=draw(st.none() | text),
        confidence=draw(st.none() | st.floats(0, 1) | st.just(math.nan)),
        risk=draw(st.none() | st.sampled_from(["low", "high", "kritisch ⚠"])),
        level=draw(st.sampled_from(LEVELS)), gate=draw(st.none() | text),
        gate_reason=draw(st.none() | text), thread_id=draw(st.none() | text),
        agent=draw(st.none() | text), requested_at=asked)
    outcome = draw(st.sampled_from([None, None, "timeout", "auto"]))
    if outcome == "auto":
        return request, None, None
    action = draw(st.sampled_from(ACTIONS))
    decision = Decision(
        action=action, args=draw(args) if action == "edit" else request.args,
        message=draw(st.none() | text), rating=draw(st.none() | st.floats(1, 5)),
        comment=draw(st.none() | text), reviewer=draw(st.none() | text),
        role=draw(st.none() | text), source=draw(st.sampled_from(["human", "simulated"])),
        decided_at=asked + timedelta(seconds=draw(st.floats(0, 1e6))))
    return request, decision, outcome


def assert_same_log_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    # JSON columns hold dicts that may contain NaN (NaN != NaN): compare their canonical
    # JSON; everything else, values and dtypes (categories, order, time zone), exactly.
    for col in JSON_COLUMNS:
        assert a[col].map(canonical_json).tolist() == b[col].map(canonical_json).tolist()
    pd.testing.assert_frame_equal(a.drop(columns=list(JSON_COLUMNS)),
                                  b.drop(columns=list(JSON_COLUMNS)), check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries(), max_size=6))
def test_parquet_round_trip_is_lossless(logged):
    log = hitl_nb.FeedbackLog()
    for request, decision, outcome in logged:
        log.record(request, decision, outcome=outcome)
    df = log.to_pandas()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(pathlib.Path(tmp) / "log.parquet")
        log.to_parquet(path)
        back = read_parquet(path)
    assert len(back) == len(logged)
    assert_same_log_frame(df, back)
    # the JSON columns come back as the same Python structures (NaN aside)
    for before, after in zip(df["proposed_args"], back["proposed_args"], strict=True):
        assert canonical_json(before) == canonical_json(after)
        assert isinstance(after, dict)


def test_a_decision_without_args_is_logged_as_made_on_the_proposal():
    log = hitl_nb.FeedbackLog()
    proposed = {"to": "x@example.com", "subject": "Hi"}
    request = ReviewRequest(request_id="r", interrupt_id="r", kind="ask", action="email",
                            args=proposed, agent="a")
    log.record(request, Decision(action="reject", message="no"))
    log.record(request, Decision(action="approve"))
    log.record(request, Decision(action="edit"))         # an edit to {}: every field removed
    df = log.to_pandas()
    assert list(df.final_args) == [proposed, proposed, {}]
    assert list(df.edited) == [False, False, True]
    assert list(df.patch[:2]) == [[], []]
    assert sorted(op["path"] for op in df.patch[2]) == ["/subject", "/to"]
    assert df.edit_distance[:2].isna().all()
    # the approval is bound to the proposed arguments: sha256 of their canonical JSON
    by_hand = hashlib.sha256(b'{"subject":"Hi","to":"x@example.com"}').hexdigest()
    assert list(df.args_hash[:2]) == [by_hand, by_hand]
    dpo = log.to_preference_pairs("dpo")
    assert list(dpo.chosen) == ["{}"]                     # only the real edit


def test_ask_reads_a_decision_without_args_as_made_on_the_proposal():
    def node(state: dict) -> dict:
        decision = hitl_nb.ask(action="send", args={"to": "ada"})
        return {"got": decision.args}

    builder = StateGraph(dict)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"got": None}, config)
    out = graph.invoke(Command(resume=Decision(action="approve").to_resume()), config)
    assert out["got"] == {"to": "ada"}


def test_naive_times_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"requested_at must be timezone-aware.*tzinfo=UTC"):
        ReviewRequest(request_id="r", interrupt_id="r", kind="ask", action="a",
                      requested_at=datetime(2024, 1, 1, 12))
    with pytest.raises(ValueError, match=r"decided_at must be timezone-aware"):
        Decision(action="approve", decided_at=datetime(2024, 1, 1, 12))
    # any time zone is fine: latency is the real difference
    log = hitl_nb.FeedbackLog()
    request = ReviewRequest(request_id="r", interrupt_id="r", kind="ask", action="a",
                            requested_at=datetime(2024, 1, 1, 12, tzinfo=UTC))
    log.record(request, Decision(action="approve", decided_at=datetime(
        2024, 1, 1, 13, 0, 5, tzinfo=timezone(timedelta(hours=1)))))
    assert log.to_pandas().latency_s[0] == 5.0


def test_to_pandas_leaves_the_garbage_collector_as_it_was(tmp_path):
    from logrows import decision_rows, sql

    path = tmp_path / "log.sqlite"
    log = hitl_nb.FeedbackLog(path)
    log.extend(decision_rows(4))
    assert gc.isenabled()
    assert len(log.to_pandas()) == 4
    assert gc.isenabled()
    gc.disable()
    try:
        assert len(log.to_pandas()) == 4
        assert not gc.isenabled()
    finally:
        gc.enable()
    sql(path, "UPDATE entries SET body = 'not json' WHERE seq = 3")
    with pytest.raises(hitl_nb.LogIntegrityError, match=r"entry #2"):
        log.to_pandas()
    assert gc.isenabled()
    log.close()


def test_rows_appended_without_every_column_read_as_missing():
    log = hitl_nb.FeedbackLog()
    log.append({"decision_id": "d1", "request_id": "r1", "decision": "approve",
                "final_args": {"a": 1}, "thread_id": 7})      # a number where text goes
    full = sample_log()
    df = pd.concat([log.to_pandas(), full.to_pandas()], ignore_index=True)
    assert list(df.columns) == list(COLUMNS)
    assert df.decision_id[0] == "d1"
    assert pd.isna(df.reviewer[0])
    assert math.isnan(df.confidence[0])
    assert df.final_args[0] == {"a": 1}
    assert df.thread_id[0] == "7"
    assert df.thread_id.dtype == full.to_pandas().thread_id.dtype
