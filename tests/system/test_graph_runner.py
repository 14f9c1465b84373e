"""The graph-runner patch (bot/rasa_patches.py) gives exactly Rasa's results on the trained model."""

import pytest


@pytest.fixture(scope="module")
def agent():
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from tests.support.servers import MODEL

    configure_structlog(logging.WARNING)
    return Agent.load(str(MODEL))


GRAPH_MESSAGES = [
    "is dry needling safe?",
    "will i bruise?",
    "I'm pregnant, can I have it?",
    "my chest hurts since my session",
    "hola",
    "<b>hi</b>",
    "",
    "how much does it cost",
    "/ask_vs_acupuncture",
    "my mum is on warfarin",
    "thanks bye",
    "whats the diff between this and acupuncture",
    "can kids get it",
    "I am not on blood thinners, is it ok?",
]


def test_graph_runner_gives_rasas_results_for_parsing_and_predicting(agent, monkeypatch):
    """NLU parses and next-action predictions are identical with dask's scheduler and without it."""
    import asyncio

    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import rasa_patches as rasa_speedups

    def everything(runner) -> list:
        monkeypatch.setattr(DaskGraphRunner, "run", runner)
        out = []
        for text in GRAPH_MESSAGES:
            parsed = asyncio.run(agent.parse_message(text))
            tracker = DialogueStateTracker.from_events(
                "graph",
                [ActionExecuted("action_listen"), UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed)],
                slots=agent.domain.slots,
            )
            prediction = agent.processor._predict_next_with_tracker(tracker)
            out.append((parsed, prediction.max_confidence_index, prediction.policy_name, prediction.probabilities))
        return out

    assert rasa_speedups.ORIGINAL_RUN.__module__ == "rasa.engine.runner.dask"
    expected = everything(rasa_speedups.ORIGINAL_RUN)
    assert everything(rasa_speedups.run_graph) == expected
    assert {parsed["intent"]["name"] for parsed, *_ in expected} >= {"ask_is_it_safe", "disclose_condition", "report_urgent_symptom"}
