"""Scripted agents for notebooks, tests and benchmarks (no API key needed)."""

from .gated import gated_support_agent, support_policy, support_tools
from .support import RULES, ScriptedSupportModel, SupportDesk, ToolRule, support_agent

__all__ = ["RULES", "ScriptedSupportModel", "SupportDesk", "ToolRule", "gated_support_agent",
           "support_agent", "support_policy", "support_tools"]
