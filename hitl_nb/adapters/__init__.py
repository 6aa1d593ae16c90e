"""Review agents built with other frameworks in the same widget and feedback log.

Each adapter is its own module, imported only when you import it, and needs its
framework installed (the ImportError names the extra):

| module | framework | extra |
|---|---|---|
| `hitl_nb.adapters.openai_agents` | OpenAI Agents SDK | `pip install "hitl_nb[openai-agents]"` |
| `hitl_nb.adapters.pydantic_ai` | Pydantic AI | `pip install "hitl_nb[pydantic-ai]"` |
| `hitl_nb.adapters.autogen` | AutoGen AgentChat | `pip install "hitl_nb[autogen]"` |

>>> from hitl_nb.adapters import openai_agents
>>> openai_agents.review(agent, "refund order 1042")     # -> review widget
"""

from ._base import AdapterSession

__all__ = ["AdapterSession"]
