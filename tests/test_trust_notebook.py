"""notebooks/06_trust_calibration.ipynb shows what it says: the bar, trust earned on a real
agent, the notify run in the feed, strictest wins, the undo that demotes, the confidence
track record on the cards, calibration on held-out data, the recovery curve, an incident."""

from __future__ import annotations

from _notebooks import WIDGET, executed, printed
from statsmodels.stats.proportion import proportion_confint


def test_trust_calibration_notebook():
    nb = executed("06_trust_calibration.ipynb")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = printed(nb, stream=None)
    tables = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    low, _ = proportion_confint(47, 50, alpha=0.10, method="wilson")
    assert f"47/50: hitl_nb {low:.6f}, statsmodels {low:.6f}" in text
    assert ("schedule_call by support: 20/20 approved as-is, lower bound 0.88 ≥ 0.85 → notify"
            in text)
    assert "status: done | asked: 0 | calls made: 21" in text
    assert "schedule_call by support: undone by lea at " in text
    ci_low, _ = proportion_confint(20, 20, alpha=0.05, method="wilson")
    assert (f"track record: Agent says 90%. At 80-90% stated confidence, support's "
            f"schedule_call proposals were approved as-is 100% of the time (20 of 20; 95% CI "
            f"{100 * ci_low:.0f}-100%).") in text
    assert "Agent says 82%. At 80-90% stated confidence, support's issue_refund" in text
    assert "Agent says 70%. At 60-70% stated confidence, support's draft_reply" in text
    assert "draft_reply at 0.85: confirm: calibrated confidence 0.2" in text
    assert "ece_calibrated" in tables
    assert "ece_stated" in tables
    assert "record restarts at confirm" in text
    assert "incident | schedule_call by support: incident reported by lea" in text
    assert "OK: 24 entries, hash chain intact" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2
    assert sum(WIDGET in o.get("data", {}) for o in outputs) >= 4
