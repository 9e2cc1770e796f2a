"""The local model's speed through the whole stack versus llama-cpp-python called directly.

Same model file, same settings (greedy, one thread, no weight repacking), same prompt, same
number of generated tokens (a fixed ``max_tokens`` with a prompt the model answers at length):

- direct: ``Llama.create_completion(stream=True)`` on the chat-formatted prompt;
- stack: ``ChatIgris.stream`` -> local gateway (HTTP, SSE) -> llama-cpp backend.

Reports time to first token and tokens per second (median of a few rounds) and the stack's
overhead per token. Run: ``python -m benchmarks.bench_local_model``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from igris_core.local_gateway import LocalGateway
from igris_core.local_gateway._backends import llama_cpp as backend
from langchain_igris import ChatIgris

PROMPT = "Write a short story about a cat who learns to fly."
TOKENS = 64
ROUNDS = 3


def _direct_round(llama: Any, prompt: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    pieces = 0
    for chunk in llama.create_completion(
        prompt=prompt, max_tokens=TOKENS, temperature=0.0, stream=True
    ):
        if chunk["choices"][0]["text"]:
            first = first or time.perf_counter()
            pieces += 1
    return (first or started) - started, time.perf_counter() - started, pieces


def _stack_round(llm: ChatIgris) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    pieces = 0
    for chunk in llm.stream(PROMPT):
        if chunk.text:
            first = first or time.perf_counter()
            pieces += 1
    return (first or started) - started, time.perf_counter() - started, pieces


def _summary(rounds: list[tuple[float, float, int]]) -> tuple[float, float]:
    ttft = statistics.median(r[0] for r in rounds)
    rate = statistics.median(r[2] / (r[1] - r[0]) for r in rounds if r[1] > r[0])
    return ttft, rate


def main() -> dict[str, float]:
    """Measure both paths; print and return the figures."""
    model_path = backend.bundled_model_path()
    llama = backend._load_llama(model_path, threads=1)  # same loader the backend uses
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"], eos_token="<|im_end|>", bos_token=""
    )
    messages = [
        {"role": "system", "content": backend.DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": PROMPT},
    ]
    prompt = formatter(messages=messages).prompt
    _direct_round(llama, prompt)  # warm-up
    direct = _summary([_direct_round(llama, prompt) for _ in range(ROUNDS)])
    del llama
    with LocalGateway() as gw:
        llm = ChatIgris(
            model="@local/smollm2-135m-instruct",
            base_url=gw.base_url,
            api_key=gw.api_key,
            max_tokens=TOKENS,
            temperature=0,
            timeout=600,
        )
        _stack_round(llm)  # warm-up (loads the model)
        stack = _summary([_stack_round(llm) for _ in range(ROUNDS)])
    overhead = (direct[1] / stack[1] - 1) * 100
    print(f"{'path':<40} {'TTFT (s)':>10} {'tokens/s':>10}")
    print(f"{'llama-cpp-python directly':<40} {direct[0]:>10.3f} {direct[1]:>10.1f}")
    print(f"{'ChatIgris -> local gateway -> llama.cpp':<40} {stack[0]:>10.3f} {stack[1]:>10.1f}")
    print(f"stack overhead per token: {overhead:+.1f}%")
    return {
        "direct_ttft_s": direct[0],
        "direct_tokens_per_s": direct[1],
        "stack_ttft_s": stack[0],
        "stack_tokens_per_s": stack[1],
        "overhead_percent": overhead,
    }


if __name__ == "__main__":
    main()
