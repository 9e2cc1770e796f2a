"""Igris integrations, end to end, in one script.

Five short sections, each printing what happens:

1. a LangChain LCEL chain (prompt | ChatIgris | StrOutputParser), streamed as it arrives;
2. a tool-calling agent (``langchain.agents.create_agent``) whose model calls go through
   ChatIgris, with the user and trace id set once in the run's config;
3. a LlamaIndex RAG query over a small security handbook (``examples/data/*.md``) with
   IgrisEmbedding + IgrisLLM, printing the retrieved sources;
4. a policy denial caught as ``IgrisPolicyDeniedError``, and a rate limit absorbed by
   ``with_fallbacks(..., exceptions_to_handle=(IgrisRateLimitError,))``;
5. the gateway's audit trail as a table.

Run it with ``make demo`` (or ``.venv/bin/python examples/quickstart.py``).

By default it starts an offline :class:`~igris_core.local_gateway.LocalGateway` on 127.0.0.1 and
makes no other network call. The chain, the agent and the RAG answer come from a real small
model, SmolLM2-135M-Instruct run by llama.cpp inside the gateway (connection ``local``); the
agent's first turn forces its tool call (a model this small cannot choose when to call one), the
model decodes the arguments, and answers from the tool's result. The policy section uses the
``echo`` backend (it repeats your last message), where deterministic answers read better.

With ``IGRIS_BASE_URL`` and ``IGRIS_API_KEY`` both set, the same script talks to that gateway
instead (a local gateway started from the command line is recognised by its ``X-Igris-Gateway``
header and labelled as such), with its models: ``IGRIS_DEMO_CHAT_MODEL`` (default
``@openai-prod/gpt-4o``) and ``IGRIS_DEMO_EMBED_MODEL`` (default
``@openai-prod/text-embedding-3-small``). Sections 4 and 5 need the local gateway's deny rules,
rate limits and audit trail, so they are skipped there (see your gateway's dashboard).
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from langchain.agents import create_agent
from langchain.agents.middleware import ModelRequest, ModelResponse, wrap_model_call
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from llama_index.core import Document, VectorStoreIndex

from igris_core import (
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    igris_context,
    parse_model,
    protocol,
)
from igris_core.local_gateway import AuditEntry, LocalGateway
from langchain_igris import ChatIgris
from llama_index_igris import IgrisEmbedding, IgrisLLM

HANDBOOK_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_CHAT_MODEL = "@openai-prod/gpt-4o"
DEFAULT_EMBED_MODEL = "@openai-prod/text-embedding-3-small"
# The real small model the local gateway serves, and its echo connection for the policy section.
LOCAL_CHAT_MODEL = "@local/smollm2-135m-instruct"
ECHO_CHAT_MODEL = DEFAULT_CHAT_MODEL
# The fallback of section 4: another connection of the local gateway (Anthropic-style; it also
# serves the OpenAI-compatible chat route ChatIgris uses).
BACKUP_MODEL = "@anthropic-prod/claude-sonnet-4-6"

SYSTEM_PROMPT = "You are the security assistant of Halden Systems. Answer in one or two sentences."


# --- where the calls go ---------------------------------------------------------------------------
@dataclass
class Target:
    """The gateway the demo talks to, and the models it uses.

    ``gateway`` is the in-process local gateway, or ``None`` for the gateway named by
    ``IGRIS_BASE_URL`` / ``IGRIS_API_KEY``. ``client_args`` are the ``base_url`` / ``api_key``
    given to every model (empty for a gateway from the environment: the classes read it).
    ``echo_model`` serves the policy section; ``env_is_local`` is True when the gateway from the
    environment is a local gateway (answers from its backends, not from real models).
    """

    gateway: LocalGateway | None
    chat_model: str
    embed_model: str
    client_args: dict[str, Any] = field(default_factory=dict)
    echo_model: str = ECHO_CHAT_MODEL
    env_is_local: bool = False

    @property
    def local(self) -> bool:
        """True when the demo runs on the offline local gateway."""
        return self.gateway is not None

    @property
    def real_model(self) -> bool:
        """True when the chat model is a language model (not the echo backend)."""
        return self.local or not self.env_is_local


def is_local_gateway(base_url: str, api_key: str) -> bool:
    """Whether the gateway at ``base_url`` is a local gateway (it says so in a header)."""
    response = httpx.get(
        base_url.rstrip("/") + protocol.PROVIDERS_PATH,
        headers={protocol.AUTHORIZATION_HEADER: f"Bearer {api_key}"},
        timeout=10,
    )
    return response.headers.get(protocol.GATEWAY_HEADER) == protocol.LOCAL_GATEWAY


@contextmanager
def open_target() -> Iterator[Target]:
    """A real gateway when ``IGRIS_BASE_URL`` and ``IGRIS_API_KEY`` are both set, else a local
    gateway started for the duration of the demo."""
    if os.environ.get("IGRIS_BASE_URL") and os.environ.get("IGRIS_API_KEY"):
        base_url = os.environ["IGRIS_BASE_URL"]
        target = Target(
            gateway=None,
            chat_model=os.environ.get("IGRIS_DEMO_CHAT_MODEL", DEFAULT_CHAT_MODEL),
            embed_model=os.environ.get("IGRIS_DEMO_EMBED_MODEL", DEFAULT_EMBED_MODEL),
            env_is_local=is_local_gateway(base_url, os.environ["IGRIS_API_KEY"]),
        )
        target.echo_model = target.chat_model
        kind = (
            f"a local gateway ({protocol.GATEWAY_HEADER}: {protocol.LOCAL_GATEWAY}): answers "
            "come from its backends (echo repeats the prompt), not from real models"
            if target.env_is_local
            else "real models"
        )
        print(
            f"Gateway: {base_url} (IGRIS_BASE_URL), {kind}:\n"
            f"chat {target.chat_model} (IGRIS_DEMO_CHAT_MODEL), "
            f"embeddings {target.embed_model} (IGRIS_DEMO_EMBED_MODEL)."
        )
        yield target
        return
    if os.environ.get("IGRIS_BASE_URL") or os.environ.get("IGRIS_API_KEY"):
        print("Only one of IGRIS_BASE_URL / IGRIS_API_KEY is set: set both to use a real gateway.")
    with LocalGateway() as gateway:
        print(
            "Gateway: an offline local gateway on 127.0.0.1, started in-process.\n"
            f"Chat, agent and RAG: {LOCAL_CHAT_MODEL}, a real small model run by llama.cpp in the\n"
            "gateway; policies: its echo backend (it repeats your last message).\n"
            "Set IGRIS_BASE_URL and IGRIS_API_KEY to run this demo against a real gateway."
        )
        yield Target(
            gateway=gateway,
            chat_model=LOCAL_CHAT_MODEL,
            embed_model=DEFAULT_EMBED_MODEL,
            # A small model on a busy CPU can take a while: a longer read timeout than the default.
            client_args={
                "base_url": gateway.base_url,
                "api_key": gateway.api_key,
                "timeout": 300,
            },
        )


# --- printing -------------------------------------------------------------------------------------
def heading(title: str) -> None:
    """Print a section title."""
    print(f"\n{'=' * 100}\n{title}\n{'=' * 100}")


def wrapped(text: str, indent: str = "    ", first: str | None = None, width: int = 100) -> str:
    """``text`` as one paragraph (whitespace collapsed), wrapped; the first line starts with
    ``first`` (default: ``indent``), the others with ``indent``."""
    return textwrap.fill(
        " ".join(text.split()),
        width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
    )


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    return textwrap.shorten(" ".join(text.split()), width, placeholder=" ...")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain table with left-aligned columns."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print("\n".join("  " + line.rstrip() for line in lines))


# --- the handbook ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    """One page of the bundled security handbook."""

    name: str
    text: str

    @property
    def title(self) -> str:
        """The page's first line, without the Markdown ``#``."""
        return self.text.splitlines()[0].lstrip("# ").strip()


def load_handbook() -> list[Page]:
    """The pages of ``examples/data``, in file name order."""
    return [Page(p.name, p.read_text(encoding="utf-8")) for p in sorted(HANDBOOK_DIR.glob("*.md"))]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@tool
def lookup_handbook(topic: str) -> str:
    """Find the page of the Halden Systems security handbook about a topic."""
    wanted = _words(topic)
    page = max(load_handbook(), key=lambda p: len(wanted & _words(p.text)))
    return f"[{page.name}] {' '.join(page.text.split())}"


# --- 1. an LCEL chain, streamed -------------------------------------------------------------------
def chain_section(target: Target) -> None:
    """prompt | ChatIgris | StrOutputParser, streamed; identity from the run's config."""
    heading("1. LangChain: an LCEL chain through ChatIgris, streamed as it arrives")
    llm = ChatIgris(model=target.chat_model, temperature=0, **target.client_args)
    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", "{question}")])
    chain = prompt | llm | StrOutputParser()
    config: Any = {
        "metadata": {
            "igris_user": "alice@halden.io",
            "igris_trace_id": "demo-chain",
            "igris_metadata": {"app": "quickstart"},
        }
    }
    question = "Why must company laptops use full-disk encryption?"
    print(f"  question: {question}\n  answer:   ", end="", flush=True)
    pieces = 0
    for piece in chain.stream({"question": question}, config=config):
        print(piece, end="", flush=True)
        pieces += 1
    print(f"\n  ({pieces} streamed pieces; user alice@halden.io, trace demo-chain)")


# --- 2. a tool-calling agent ----------------------------------------------------------------------
@wrap_model_call
def force_first_tool_call(
    request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
) -> ModelResponse:
    """Until a tool has answered, the model must call one (it still decodes the arguments
    itself); afterwards it answers from the tool's result."""
    if not any(isinstance(m, ToolMessage) for m in request.messages):
        request = request.override(tool_choice="required")
    return handler(request)


def agent_section(target: Target) -> None:
    """A ``create_agent`` agent calling ``lookup_handbook``; the user and trace id are set once
    in the run's config and reach every model call of the run."""
    heading("2. LangChain agent (create_agent / LangGraph): tool calling through ChatIgris")
    llm = ChatIgris(model=target.chat_model, temperature=0, max_tokens=120, **target.client_args)
    agent = create_agent(
        llm,
        tools=[lookup_handbook],
        system_prompt=SYSTEM_PROMPT + " Look the answer up in the handbook first.",
        middleware=[force_first_tool_call] if target.local else [],
    )
    if target.local:
        print("  (SmolLM2 is too small to choose when to call a tool: the first turn forces it)")
    elif target.env_is_local:
        print("  (a local gateway: its echo backend calls no tool unless one is forced)")
    else:
        print("  (a real model: it decides by itself whether to call the tool)")
    config: Any = {"metadata": {"igris_user": "bob@halden.io", "igris_trace_id": "ticket-4711"}}
    question = "I lost my laptop on the train. What do I do?"
    state = agent.invoke({"messages": [HumanMessage(question)]}, config=config)
    for message in state["messages"]:
        if isinstance(message, HumanMessage):
            print(f"  user  : {message.text}")
        elif isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                print(f"  model : calls {call['name']}({call['args']})")
        elif isinstance(message, ToolMessage):
            print(f"  tool  : {shorten(message.text, 88)}")
        elif isinstance(message, AIMessage):
            print(wrapped(message.text, first="  model : ", indent=" " * 10))
    if target.gateway is not None:
        calls = [e for e in target.gateway.audit if e.trace_id == "ticket-4711"]
        users = sorted({e.user or "-" for e in calls})
        print(f"  audit : {len(calls)} model calls with trace ticket-4711, user(s) {users}")


# --- 3. LlamaIndex RAG ----------------------------------------------------------------------------
def rag_section(target: Target) -> None:
    """Index the handbook with IgrisEmbedding, answer a question with IgrisLLM, show sources."""
    heading("3. LlamaIndex: RAG over the security handbook (IgrisEmbedding + IgrisLLM)")
    pages = load_handbook()
    documents = [Document(text=p.text, metadata={"file_name": p.name}) for p in pages]
    embed_model = IgrisEmbedding(model=target.embed_model, **target.client_args)
    # The echo backend repeats the prompt LlamaIndex built: keep that answer short.
    llm = IgrisLLM(
        model=target.chat_model, max_tokens=150 if target.real_model else 48, **target.client_args
    )
    with igris_context(trace_id="index-build", metadata={"job": "indexing"}):
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    print(f"  indexed {len(documents)} pages of examples/data with {target.embed_model}")
    engine = index.as_query_engine(llm=llm, similarity_top_k=3)
    question = "How quickly must I report a lost or stolen laptop?"
    with igris_context(user="dana@halden.io", trace_id="rag-query-1"):
        response = engine.query(question)
    print(f"  question: {question}\n  retrieved sources:")
    print_table(
        ["rank", "file", "score", "title"],
        [
            (
                i,
                n.node.metadata["file_name"],
                f"{n.score:.3f}",
                Page("", n.node.get_content()).title,
            )
            for i, n in enumerate(response.source_nodes, 1)
        ],
    )
    if not target.real_model:
        print("  answer (the echo backend repeats the prompt IgrisLLM sent, cut at 48 tokens):")
    else:
        print("  answer:")
    print(wrapped(str(response)))


# --- 4. policies: a denial and a rate limit with a fallback ---------------------------------------
def policy_section(target: Target) -> None:
    """A deny rule refuses a prompt holding an AWS key; a per-user rate limit is absorbed by a
    fallback to another connection."""
    heading("4. Policies: a denial (IgrisPolicyDeniedError), a rate limit handled by a fallback")
    gw = target.gateway
    if gw is None:
        print(
            "  skipped: it adds deny rules and rate limits to the local gateway "
            "(unset IGRIS_BASE_URL to run it)."
        )
        return
    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", "{question}")])

    gw.deny("no-aws-keys", pattern=r"AKIA[0-9A-Z]{16}")
    print('  gw.deny("no-aws-keys", pattern=r"AKIA[0-9A-Z]{16}")   # AWS access key ids')
    chain = prompt | ChatIgris(model=target.echo_model, **target.client_args) | StrOutputParser()
    question = "Why does the deploy fail with aws_access_key_id=AKIAIOSFODNN7EXAMPLE?"
    config: Any = {"metadata": {"igris_user": "erin@halden.io", "igris_trace_id": "demo-deny"}}
    try:
        chain.invoke({"question": question}, config=config)
        print("  not denied?!")
    except IgrisPolicyDeniedError as err:
        print(
            f"  denied: IgrisPolicyDeniedError caught: HTTP {err.status_code}, rule {err.code!r},"
            f"\n          request id {err.request_id} (find it in the audit trail)"
        )

    connection = parse_model(target.echo_model).slug
    gw.rate_limit("per-user", limit=2, window=60, per="user", connection=connection)
    print(
        f'\n  gw.rate_limit("per-user", limit=2, window=60, per="user", connection="{connection}")'
    )
    # max_retries=0: no waiting out Retry-After, the fallback answers at once.
    primary = ChatIgris(model=target.echo_model, max_retries=0, **target.client_args)
    backup = ChatIgris(model=BACKUP_MODEL, **target.client_args)
    robust = primary.with_fallbacks([backup], exceptions_to_handle=(IgrisRateLimitError,))
    config = {"metadata": {"igris_user": "carol@halden.io", "igris_trace_id": "demo-fallback"}}
    rows = []
    for n in range(1, 5):
        answer = robust.invoke(f"Question number {n} from carol.", config=config)
        rows.append((n, answer.response_metadata.get("model_name"), answer.text))
    print("  primary.with_fallbacks([backup], exceptions_to_handle=(IgrisRateLimitError,)):")
    print_table(["call", "answered by", "answer"], rows)
    try:
        primary.invoke("And once more, without the fallback.", config=config)
    except IgrisRateLimitError as err:
        print(
            f"  the primary alone: IgrisRateLimitError: HTTP {err.status_code}, rule {err.code!r}, "
            f"retry after {err.retry_after:g} s"
        )


# --- 5. the audit trail ---------------------------------------------------------------------------
def _status(entry: AuditEntry) -> str:
    return f"{entry.status} {entry.rule}" if entry.rule else str(entry.status)


def _metadata(entry: AuditEntry) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(entry.metadata.items()))


def audit_section(target: Target) -> None:
    """Every call the gateway saw: route, status, model, identity and tokens."""
    heading("5. The gateway's audit trail")
    if target.gateway is None:
        print(
            "  skipped: it reads the local gateway's audit trail; a real gateway keeps its own "
            "(see its dashboard)."
        )
        return
    entries = target.gateway.audit
    print_table(
        ["#", "route", "status", "model", "stream", "user", "trace id", "metadata", "tokens"],
        [
            (
                i,
                e.route,
                _status(e),
                f"@{e.connection}/{e.model}",
                "yes" if e.stream else "",
                e.user,
                e.trace_id,
                _metadata(e),
                e.usage["total_tokens"] if e.usage else "",
            )
            for i, e in enumerate(entries, 1)
        ],
    )
    refused = sum(e.status >= 400 for e in entries)
    tokens = sum(e.usage["total_tokens"] for e in entries if e.usage)
    print(f"  {len(entries)} calls, {refused} refused, {tokens} tokens")


def main() -> int:
    """Run the five sections; return the exit status."""
    started = time.perf_counter()
    with open_target() as target:
        chain_section(target)
        agent_section(target)
        rag_section(target)
        policy_section(target)
        audit_section(target)
    print(f"\nDone: the five sections took {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
