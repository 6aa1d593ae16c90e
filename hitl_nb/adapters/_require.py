"""The ImportError an adapter raises when its framework is not installed."""

from __future__ import annotations


def missing_extra(package: str, extra: str) -> ImportError:
    """An ImportError that names the pip extra to install.

    >>> try:
    ...     import agents
    ... except ImportError as exc:
    ...     raise missing_extra("openai-agents", "openai-agents") from exc
    """
    return ImportError(f"this hitl_nb adapter needs the {package!r} package: "
                       f'pip install "hitl_nb[{extra}]"')
