"""notebooks/02_approval_gates.ipynb shows what it says: a refused approval, the two-person
rule, a verified log, the tampered copy caught at the entry that was changed, the
reviews recovered after the "restart", and a deadline that does not approve a gated refund."""

from __future__ import annotations

import re

from _notebooks import executed, printed


def test_approval_gates_notebook():
    text = printed(executed("02_approval_gates.ipynb"), stream=None)
    assert "refused: ivan may not decide 'issue_refund': it needs role finance" in text
    assert "refunds executed: 0 | decisions logged: 0" in text
    assert "('issue_refund', 60.0)" in text
    assert "1 of 2 approvals (alice) | refunds of order 2001 executed: 0" in text
    assert "refused: alice already approved 'issue_refund'" in text
    assert "status: done | refunds of order 2001 executed: 1" in text
    assert "OK: 5 entries, hash chain intact" in text
    # entries: 0 fiona's edit, 1 the drafted reply (auto), 2 alice's approval: the one changed
    tampered = re.search(r"TAMPERED: entry #(\d+) \(decision_id=(\w+)\)", text)
    changed = re.search(r"the entry we changed: (\w+)", text)
    assert tampered is not None
    assert changed is not None
    assert tampered.groups() == ("2", changed.group(1))
    assert "executed after the restart: [('issue_refund', 80.0), ('issue_refund', 420.0)]" in text
    assert "still pending: 0" in text
    assert "OK: 11 entries, hash chain intact" in text
    # the deadline: on_timeout="approve", but the refund needs finance, so it is rejected
    deadline = re.search(r"decide by: (.+?) \| needs role: finance", text)
    assert deadline is not None
    default = (f"no decision before the deadline {deadline.group(1)}; default: reject "
               "(on_timeout=approve does not apply: it needs role finance")
    assert f"the agent got: rejected by reviewer: {default}" in text
    assert "refunds paid: []" in text
    assert f"logged: timeout by policy | {default}" in text
    assert "OK: 12 entries, hash chain intact" in text
