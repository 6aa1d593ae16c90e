"""Gates one by one, then combined: strictest level wins, roles and approvals merge, and
the explanation names every gate that fired with the values that triggered it."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

import hitl_nb
from hitl_nb import (
    ConfidenceBelow,
    Critical,
    Policy,
    RequiresRole,
    RiskAtLeast,
    Threshold,
    TwoPersonRule,
)
from hitl_nb._policy import OPS


def test_no_gate_fires_gives_the_default_level():
    verdict = Policy([Threshold("amount", ">", 50)]).evaluate("issue_refund", {"amount": 10})
    assert verdict.level == "autonomy"
    assert verdict.fired == ()
    assert verdict.needs_review is False
    assert verdict.gate is None
    assert verdict.explanation == "no gate fired (default: autonomy)"
    assert Policy(default="notify").evaluate("x").level == "notify"


def test_critical_gate_by_name_and_by_predicate():
    policy = Policy([
        Critical(actions=["delete_account"], level="human_leads"),
        Critical(when=lambda action, args: str(args.get("to", "")).endswith("@external.com"),
                 description="recipient outside the company", name="external_mail"),
    ])
    deleted = policy.evaluate("delete_account", {"account": 7})
    assert (deleted.level, deleted.gate) == ("human_leads", "critical")
    assert deleted.explanation == "delete_account is a critical action (critical)"
    mail = policy.evaluate("send_email", {"to": "eve@external.com"})
    assert (mail.level, mail.gate) == ("confirm", "critical:external_mail")
    assert mail.explanation == "recipient outside the company (critical:external_mail)"
    assert policy.evaluate("send_email", {"to": "bob@corp.example"}).level == "autonomy"


@pytest.mark.parametrize(
    ("op", "limit", "value", "fires"),
    [(">", 50, 80.0, True), (">", 50, 50, False), (">=", 50, 50, True), ("<", 1, 0, True),
     ("<=", 1, 2, False), ("==", "NZ", "NZ", True), ("!=", "NZ", "NZ", False),
     ("in", ["NZ", "AU"], "AU", True), ("not in", ["NZ", "AU"], "DE", True),
     ("not in", ["NZ", "AU"], "NZ", False)],
)
def test_threshold_comparisons(op, limit, value, fires):
    verdict = Policy([Threshold("x", op, limit)]).evaluate("act", {"x": value})
    assert verdict.needs_review is fires
    # a firing explanation spells the comparison with both values
    expected = (f"x {value!r} {op} {limit!r} (threshold:x)" if fires
                else "no gate fired (default: autonomy)")
    assert verdict.explanation == expected


def test_threshold_reads_nested_fields_and_list_items():
    policy = Policy([Threshold("customer.tier", "==", "gold", name="vip"),
                     Threshold("items.1.price", ">", 100)])
    verdict = policy.evaluate("ship", {"customer": {"tier": "gold"},
                                       "items": [{"price": 5}, {"price": 250}]})
    assert [f.gate for f in verdict.fired] == ["threshold:vip", "threshold:items.1.price"]
    assert verdict.fired[1].values == {"items.1.price": 250}
    assert verdict.explanation == ("customer.tier 'gold' == 'gold' (threshold:vip); "
                                   "items.1.price 250 > 100 (threshold:items.1.price)")


def test_threshold_missing_field_skips_or_fires_and_bad_types_fail_closed():
    skip = Policy([Threshold("amount", ">", 50)])
    assert skip.evaluate("x", {}).level == "autonomy"
    fire = Policy([Threshold("amount", ">", 50, on_missing="fire")]).evaluate("x", {})
    assert fire.explanation == "amount missing (needed for > 50) (threshold:amount)"
    closed = skip.evaluate("x", {"amount": "80"})
    assert closed.level == "confirm"
    assert closed.explanation == "amount '80' cannot be compared with > 50 (threshold:amount)"


NAN = float("nan")


@pytest.mark.parametrize("nan", [NAN, np.float64("nan"), Decimal("NaN")],
                         ids=["float", "numpy", "decimal"])
@pytest.mark.parametrize(("op", "limit"), [(">", 50), (">=", 50), ("<", 50), ("<=", 50),
                                           ("==", 50), ("!=", 50), ("in", [50]),
                                           ("not in", [50])])
def test_threshold_fails_closed_on_nan(nan, op, limit):
    # every comparison with NaN is False, so without the check `> 50` let it through
    verdict = Policy([Threshold("amount", op, limit)]).evaluate("pay", {"amount": nan})
    assert verdict.level == "confirm"
    assert verdict.explanation == (f"amount {nan!r} is not a comparable number (needed for "
                                   f"{op} {limit!r}) (threshold:amount)")


@pytest.mark.parametrize(("op", "limit", "value"),
                         [(">", 50, True), (">=", 2, True), ("<", 0, False), ("<=", -1, True)])
def test_threshold_fails_closed_on_a_bool_against_an_ordering(op, limit, value):
    assert not OPS[op](value, limit)  # compared as 0 / 1, the bool would pass the gate
    verdict = Policy([Threshold("amount", op, limit)]).evaluate("pay", {"amount": value})
    assert verdict.level == "confirm"
    assert "amount " + repr(value) + " is not a comparable number" in verdict.explanation


def test_threshold_compares_bools_for_equality_and_refuses_a_nan_limit():
    urgent = Policy([Threshold("urgent", "==", True)])
    assert urgent.evaluate("pay", {"urgent": True}).level == "confirm"
    assert urgent.evaluate("pay", {"urgent": False}).level == "autonomy"
    for limit in (NAN, True):
        with pytest.raises(ValueError, match="cannot be compared with >"):
            Threshold("amount", ">", limit)


def test_threshold_scoped_to_actions():
    policy = Policy([Threshold("amount", ">", 50, actions=["issue_refund"])])
    assert policy.evaluate("issue_refund", {"amount": 80}).level == "confirm"
    assert policy.evaluate("record_sale", {"amount": 80}).level == "autonomy"


def test_confidence_gate():
    policy = Policy([ConfidenceBelow(0.6)])
    low = policy.evaluate("x", confidence=0.42)
    assert low.explanation == "confidence 0.42 < 0.6 (confidence)"
    assert low.fired[0].values == {"confidence": 0.42}
    assert policy.evaluate("x", confidence=0.6).level == "autonomy"
    assert policy.evaluate("x").level == "autonomy"
    strict = Policy([ConfidenceBelow(0.6, on_missing="fire")]).evaluate("x")
    assert strict.explanation == "confidence unknown (confidence)"
    with pytest.raises(ValueError, match="between 0 and 1"):
        policy.evaluate("x", confidence=1.5)


def test_risk_gate_on_labels_and_scores():
    labels = Policy([RiskAtLeast("high")])
    assert labels.evaluate("x", risk="medium").level == "autonomy"
    assert labels.evaluate("x", risk="critical").explanation == "risk critical >= high (risk)"
    unknown = labels.evaluate("x", risk="spicy")
    assert unknown.level == "confirm"  # not on the scale: fails closed
    assert "not on the scale low < medium < high < critical" in unknown.explanation
    scores = Policy([RiskAtLeast(0.7, level="collaborate")])
    assert scores.evaluate("x", risk=0.69).level == "autonomy"
    assert scores.evaluate("x", risk=0.7).level == "collaborate"
    assert scores.evaluate("x", risk="0.9").level == "collaborate"  # ask() stores risk as text
    with pytest.raises(ValueError, match="not on the scale"):
        RiskAtLeast("severe")


@pytest.mark.parametrize("risk", [NAN, "nan", True, float("inf")])
def test_risk_score_that_is_not_a_comparable_number_fails_closed(risk):
    verdict = Policy([RiskAtLeast(0.7)]).evaluate("pay", risk=risk)
    assert verdict.level == "confirm"
    assert verdict.explanation == f"risk {risk!r} is not a comparable number (risk)"


def test_role_and_two_person_gates():
    policy = Policy([RequiresRole("finance", actions=["issue_refund"]),
                     TwoPersonRule(actions=["wire_transfer"])])
    refund = policy.evaluate("issue_refund", {"amount": 5})
    assert (refund.level, refund.required_roles, refund.approvals_needed) == (
        "confirm", ("finance",), 1)
    assert refund.explanation == "issue_refund needs role finance (role:finance)"
    wire = policy.evaluate("wire_transfer")
    assert (wire.required_roles, wire.approvals_needed) == ((), 2)
    assert wire.explanation == "wire_transfer needs 2 different approvers (two_person)"


def test_combination_strictest_wins_and_explanation_names_every_gate():
    policy = Policy([
        Threshold("amount", ">", 50, actions=["issue_refund"], name="refund_amount"),
        ConfidenceBelow(0.6),
        RiskAtLeast("high", level="collaborate"),
        Threshold("amount", ">", 1000, level="human_leads", roles=["finance", "cfo"]),
        RequiresRole("finance", actions=["issue_refund"]),
        TwoPersonRule(actions=["issue_refund"], when=lambda a, args: args["amount"] > 500),
    ])
    verdict = policy.evaluate("issue_refund", {"amount": 80.0}, confidence=0.42, risk="high")
    assert verdict.level == "collaborate"
    assert verdict.required_roles == ("finance",)
    assert verdict.approvals_needed == 1
    assert verdict.explanation == (
        "amount 80.0 > 50 (threshold:refund_amount); confidence 0.42 < 0.6 (confidence); "
        "risk high >= high (risk); issue_refund needs role finance (role:finance)")
    big = policy.evaluate("issue_refund", {"amount": 2000.0}, confidence=0.9)
    assert big.level == "human_leads"
    assert big.required_roles == ("finance", "cfo")  # merged, each once, in gate order
    assert big.approvals_needed == 2
    assert big.gate == "threshold:refund_amount, threshold:amount, role:finance, two_person"
    assert str(big).endswith("[needs role finance + cfo, 2 different approvers]")


def test_ask_kwargs_carry_the_verdict_into_a_review_request():
    verdict = Policy([Threshold("amount", ">", 50, name="refund_amount"),
                      TwoPersonRule(roles=["finance"])]).evaluate(
        "issue_refund", {"amount": 80.0}, confidence=0.7, risk=0.3)
    kwargs = verdict.ask_kwargs(reason="customer asked")
    assert kwargs["reason"] == "customer asked"
    from hitl_nb._ask import ask_payload
    from hitl_nb._payloads import requests_from_value

    [request] = requests_from_value(ask_payload(**kwargs), "i1")
    assert (request.level, request.gate) == ("confirm", "threshold:refund_amount, two_person")
    assert request.gate_reason == verdict.explanation
    assert request.required_roles == ("finance",)
    assert request.approvals_needed == 2
    assert (request.confidence, request.risk) == (0.7, "0.3")
    assert [g["gate"] for g in request.gates] == ["threshold:refund_amount", "two_person"]
    assert request.gates[0]["values"] == {"amount": 80.0}


def test_bad_gate_definitions_name_the_fix():
    with pytest.raises(ValueError, match="op must be one of"):
        Threshold("amount", "=>", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level must be one of"):
        Critical(level="panic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a human decision"):
        RequiresRole("finance", level="notify")
    with pytest.raises(ValueError, match="approvals must be"):
        TwoPersonRule(approvals=0)
    with pytest.raises(TypeError, match="Policy takes gates"):
        Policy(["amount > 50"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="args must be a dict"):
        Policy().evaluate("x", ["a"])  # type: ignore[arg-type]


def test_reprs_read_like_the_policy():
    policy = Policy([Threshold("amount", ">", 50, actions=["issue_refund"]),
                     RequiresRole("finance")])
    assert repr(policy).splitlines() == [
        "Policy(default=autonomy, 2 gates)",
        "  threshold:amount: amount > 50 on issue_refund -> confirm",
        "  role:finance: role finance -> confirm",
    ]
    verdict = policy.evaluate("issue_refund", {"amount": 60})
    assert repr(verdict) == ("<Verdict issue_refund -> confirm: amount 60 > 50 "
                             "(threshold:amount); issue_refund needs role finance "
                             "(role:finance) [needs role finance]>")
    assert isinstance(verdict, hitl_nb.Verdict)
