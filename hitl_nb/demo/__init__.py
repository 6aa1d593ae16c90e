"""Scripted agents for notebooks, tests and benchmarks (no API key needed)."""

from .batch import propose, refund_fan_out_agent, refund_queue_agent, refund_requests
from .collab import CaseDesk, CollabAgent, ScriptedCollabModel, collab_agent
from .gated import gated_support_agent, support_policy, support_tools
from .support import RULES, ScriptedSupportModel, SupportDesk, ToolRule, support_agent

__all__ = ["RULES", "CaseDesk", "CollabAgent", "ScriptedCollabModel", "ScriptedSupportModel",
           "SupportDesk", "ToolRule", "collab_agent", "gated_support_agent",
           "propose", "refund_fan_out_agent", "refund_queue_agent", "refund_requests",
           "support_agent", "support_policy", "support_tools"]
