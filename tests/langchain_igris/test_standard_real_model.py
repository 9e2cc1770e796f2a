"""The langchain-tests standard tests that need a real model's judgement, run against the
local gateway's ``local`` connection (SmolLM2-135M-Instruct through llama.cpp).

Each of these is xfailed "needs a real model" in test_standard_integration.py (the echo
backend). Here they pass, or keep an xfail naming what this model size cannot do.
"""

from __future__ import annotations

from typing import Any

import pytest

from igris_core.local_gateway import LocalGateway
from tests.langchain_igris import test_standard_integration as echo_suite

pytest.importorskip("llama_cpp")
pytestmark = [pytest.mark.real_model, pytest.mark.timeout(900)]


_Base = echo_suite.TestChatIgrisStandardIntegration


class TestChatIgrisOnTheLocalModel(_Base):
    """Only the real-model tests of the standard suite, on ``@local/smollm2-135m-instruct``."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "@local/smollm2-135m-instruct", "max_retries": 0, "timeout": 600}

    def test_tool_calling(self, model: Any) -> None:
        super(_Base, self).test_tool_calling(model)

    async def test_tool_calling_async(self, model: Any) -> None:
        await super(_Base, self).test_tool_calling_async(model)

    @pytest.mark.xfail(
        reason="json_mode sends no schema: the answer is valid JSON (grammar), but SmolLM2-135M "
        "does not reliably follow the prompt's request for 'setup' and 'punchline' keys",
        strict=False,
    )
    def test_json_mode(self, model: Any) -> None:
        super(_Base, self).test_json_mode(model)

    @pytest.mark.xfail(
        reason="tool_choice unset: the llama-cpp backend answers in text and never calls a tool "
        "on its own (a 135M model cannot choose when to call one); the test expects get_weather",
        strict=True,
    )
    def test_agent_loop(self, model: Any) -> None:
        super(_Base, self).test_agent_loop(model)


_REAL_MODEL_TESTS = {
    "test_tool_calling",
    "test_tool_calling_async",
    "test_json_mode",
    "test_agent_loop",
}


@pytest.fixture(autouse=True)
def _local_gateway(request: pytest.FixtureRequest, gw: LocalGateway) -> LocalGateway:
    """The session's gateway (its ``local`` connection); only the real-model tests run here,
    the rest of the suite runs, faster, on the echo backend in test_standard_integration.py."""
    if request.node.originalname not in _REAL_MODEL_TESTS:
        pytest.skip("covered on the echo backend by test_standard_integration.py")
    return gw
