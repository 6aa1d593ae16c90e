"""Adapter sessions in real JupyterLab: the cards offer what each framework can do, and a
click answers an AutoGen team that is parked in the kernel, mid-run."""

from __future__ import annotations

from conftest import open_notebook
from playwright.sync_api import Page, expect

OPENAI = """import hitl_nb
from agents import Agent, RunConfig, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call
from hitl_nb.adapters import openai_agents
refunds = []
@function_tool(needs_approval=True)
def issue_refund(order: int, amount: float) -> str:
    \"\"\"Refund an order.\"\"\"
    refunds.append((order, amount))
    return "refunded"
model = ScriptedModel([[function_call("issue_refund", {"order": 1042, "amount": 80.0},
                                      call_id="call_1")], [assistant_message("all done")]])
agent = Agent(name="support", tools=[issue_refund], model=model)
openai_agents.review(agent, "refund 1042", run_config=RunConfig(tracing_disabled=True))"""

AUTOGEN = """import hitl_nb
from autogen_agentchat.agents import AssistantAgent, UserProxyAgent
from autogen_agentchat.conditions import TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.models import ModelFamily, ModelInfo
from autogen_ext.models.replay import ReplayChatCompletionClient
from hitl_nb.adapters import autogen
client = ReplayChatCompletionClient(
    ["Shall I refund order 1042?", "Understood. TERMINATE"],
    model_info=ModelInfo(vision=False, function_calling=False, json_output=False,
                         family=ModelFamily.UNKNOWN, structured_output=False))
team = RoundRobinGroupChat(
    [AssistantAgent("support", model_client=client),
     UserProxyAgent("user", input_func=autogen.human_input)],
    termination_condition=TextMentionTermination("TERMINATE"))
autogen.review(team, task="order 1042 arrived broken")"""


def test_openai_agents_card_offers_approve_and_reject_only(page: Page, lab):
    nb = open_notebook(page, lab, "adapters_openai.ipynb", [OPENAI])
    nb.run_all()
    widget = nb.widget()
    card = widget.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-action")).to_have_text("issue_refund")
    expect(card.get_by_label("amount")).to_be_disabled()
    expect(card.get_by_test_id("hitl-edit")).to_have_count(0)
    expect(card.get_by_test_id("hitl-respond")).to_have_count(0)
    card.get_by_test_id("hitl-approve").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("all done")
    out = nb.run_cell_code("print(refunds, list(hitl_nb.log().to_pandas().framework))")
    assert out == "[(1042, 80.0)] ['openai_agents']"
    assert page.log.errors == []


def test_autogen_question_is_answered_by_a_click_while_the_run_waits(page: Page, lab):
    nb = open_notebook(page, lab, "adapters_autogen.ipynb", [AUTOGEN])
    nb.run_all()
    widget = nb.widget()
    card = widget.get_by_test_id("hitl-request")
    expect(card.get_by_test_id("hitl-preview")).to_have_text("Shall I refund order 1042?")
    # the kernel is free while the team waits for the answer
    assert nb.run_cell_code("print(hitl_nb.current().status)") == "pending"
    card.get_by_test_id("hitl-message").fill("Yes, but only 60.")
    card.get_by_test_id("hitl-respond").click()
    expect(widget.get_by_test_id("hitl-result")).to_contain_text("Understood. TERMINATE")
    out = nb.run_cell_code(
        "s = hitl_nb.current()\n"
        "print([m.content for m in s.messages if m.source == 'user'][1:], len(client.create_calls),"
        " list(hitl_nb.log().to_pandas().framework))")
    assert out == "['Yes, but only 60.'] 2 ['autogen']"
    assert page.log.errors == []
