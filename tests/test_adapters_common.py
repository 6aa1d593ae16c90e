"""What every adapter shares: lazy imports, the ImportError that names the extra."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

ADAPTERS = [
    ("hitl_nb.adapters.openai_agents", "agents", 'pip install "hitl_nb[openai-agents]"'),
    ("hitl_nb.adapters.pydantic_ai", "pydantic_ai", 'pip install "hitl_nb[pydantic-ai]"'),
    ("hitl_nb.adapters.autogen", "autogen_agentchat", 'pip install "hitl_nb[autogen]"'),
]


@pytest.mark.parametrize(("module", "package", "fix"), ADAPTERS, ids=[a[1] for a in ADAPTERS])
def test_a_missing_framework_names_the_extra_to_install(monkeypatch, module, package, fix):
    # what an absent package looks like, submodules imported by earlier tests included
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=fix.replace("[", r"\[").replace("]", r"\]")):
        importlib.import_module(module)


def test_importing_hitl_nb_imports_no_framework():
    code = ("import sys, hitl_nb, hitl_nb.adapters; "
            "print(sorted(m for m in ('agents', 'pydantic_ai', 'autogen_agentchat') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"
