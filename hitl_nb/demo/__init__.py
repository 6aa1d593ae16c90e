"""Scripted agents for notebooks, tests and benchmarks (no API key needed)."""

from .support import RULES, ScriptedSupportModel, SupportDesk, ToolRule, support_agent

__all__ = ["RULES", "ScriptedSupportModel", "SupportDesk", "ToolRule", "support_agent"]
