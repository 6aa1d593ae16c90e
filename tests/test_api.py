"""The public surface and the front-end safety rules."""

from __future__ import annotations

import pathlib
import re

import hitl_nb

WIDGETS = pathlib.Path(hitl_nb.__file__).parent / "widgets"


def test_public_names_are_pinned():
    assert sorted(hitl_nb.__all__) == sorted([
        "Action", "Decision", "DecisionError", "FeedbackLog", "Level", "PayloadError",
        "Preferences", "ReviewRequest", "ReviewSource", "ReviewWidget", "Session", "SessionBusy",
        "StaleDecision",
        "Verification", "__version__", "ask", "current", "load_ipython_extension", "log",
        "read_parquet", "unload_ipython_extension",
        # gates, roles and restart recovery
        "Approvals", "ConfidenceBelow", "Critical", "Fired", "Gate", "Inbox",
        "NotAuthorized", "Policy", "Proposal", "RequiresRole", "Reviewer", "RiskAtLeast",
        "Threshold", "TwoPersonRule", "Verdict", "inbox", "reviewer",
        # overrides
        "EmergencyStop", "Halt", "StopRecord", "Stopped", "UndoReport", "check_stop",
        "compensate", "emergency_stop", "guarded", "halted", "resume_all",
        # the persistent, tamper-evident log
        "ArgsMismatch", "LogIntegrityError", "use_log",
        # confirmation workflows: batch review and the notify level
        "BatchReview", "BulkResult", "Feed", "Notification", "UndoError", "ask_many", "feed",
        "notifies", "notify",
        # collaborative execution: shared plans, co-editing, human leads
        "Answer", "NeedsHuman", "Plan", "PlanWidget", "Step", "ask_input", "ask_plan",
        "plan_graph",
        # trust calibration: earned autonomy, calibrated confidence
        "Calibrator", "Trust", "TrustChange", "TrustGate", "TrustStatus",
    ])
    for name in hitl_nb.__all__:
        assert hasattr(hitl_nb, name), name


def test_the_readme_api_table_names_every_public_name():
    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    table = readme[readme.index("## Python API"):readme.index("## Safety")]
    spans = re.findall(r"`([^`]+)`", table)
    named = {word for span in spans for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}
    assert sorted(set(hitl_nb.__all__) - named) == []


def test_widget_javascript_never_parses_html_from_strings():
    sources = sorted(WIDGETS.glob("*.js"))
    assert sources, "no widget JavaScript found"
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|"
                           r"DOMParser|createContextualFragment|\beval\(|new Function")
    offenders = [(p.name, m.group(0)) for p in sources
                 for m in forbidden.finditer(p.read_text())]
    assert offenders == []


def test_widget_assets_ship_with_the_package():
    for name in ("shared", "review", "batch", "feed", "plan"):
        assert (WIDGETS / f"{name}.js").is_file()
        assert (WIDGETS / f"{name}.css").is_file()
