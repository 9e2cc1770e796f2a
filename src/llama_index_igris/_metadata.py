"""``LLMMetadata`` of a model from the shared profile table (:mod:`igris_core._profiles`).

LlamaIndex sizes compact prompt packing, chat memory and refine steps by ``context_window`` and
``num_output``, and picks function-calling programs and agents by ``is_function_calling_model``.
Values the user gives win. An unknown model gets LlamaIndex's own conservative defaults: a
3,900-token window, its default output reserve (``num_output=-1``), and no tool calling.
"""

from __future__ import annotations

from llama_index.core.base.llms.types import LLMMetadata
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW

from igris_core import model_profile

__all__ = ["model_metadata"]


def model_metadata(
    model: str,
    *,
    context_window: int | None,
    max_tokens: int | None,
    is_function_calling_model: bool | None,
) -> LLMMetadata:
    """The metadata of ``model`` (``@slug/model``); a non-``None`` argument overrides the
    profile's value."""
    profile = model_profile(model) or {}
    window = context_window or profile.get("max_input_tokens") or DEFAULT_CONTEXT_WINDOW
    if max_tokens is not None:
        num_output = max_tokens
    else:
        # A separate output cap is reserved in full; when the output may fill the whole window
        # (open-weight models), reserving it would leave no room: LlamaIndex's reserve is used.
        cap = profile.get("max_output_tokens")
        num_output = cap if cap is not None and cap < window // 2 else -1
    if is_function_calling_model is None:
        is_function_calling_model = bool(profile.get("tool_calling", False))
    return LLMMetadata(
        context_window=window,
        num_output=num_output,
        is_chat_model=True,
        is_function_calling_model=is_function_calling_model,
        model_name=model,
    )
