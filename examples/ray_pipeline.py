"""Bulk embedding and batch chat through the Igris gateway on a Ray cluster.

A Ray Data pipeline in three steps:

1. records: the bundled security handbook (``examples/data/*.md``) cut into passages, or a
   generated corpus of any size (``--records N``); every record carries its own identity (the
   user it is processed for, the job's trace id, its source document);
2. embedding with :class:`~langchain_igris.IgrisEmbeddings` in an actor pool: each actor builds
   its model once, and embeds the records of a batch that share an identity in one request;
3. a chat call per record with :class:`~langchain_igris.ChatIgris` (a one-line classification),
   each call carrying that record's identity.

Workers get the gateway settings (``IGRIS_BASE_URL``, ``IGRIS_API_KEY``) from the environment
that ``ray.init(runtime_env={"env_vars": ...})`` gives them (:func:`init_ray`); no key is ever
pickled: the models are built inside the actors. A gateway 429 slows an actor down (the client
waits for ``Retry-After`` and retries), and a record that fails for good (a policy denial, a
retry budget spent) is reported with its error, never dropped.

Run it on a local Ray instance against an in-process local gateway::

    .venv/bin/python examples/ray_pipeline.py                 # the handbook
    .venv/bin/python examples/ray_pipeline.py --records 5000 --actors 2 --no-chat

or against a gateway of your own, by setting ``IGRIS_BASE_URL`` and ``IGRIS_API_KEY`` (and
``--embed-model`` / ``--chat-model``). On an existing cluster, call :func:`init_ray` with its
address, or pass the same ``env_vars`` in your job's runtime environment.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HANDBOOK_DIR = Path(__file__).resolve().parent / "data"
EMBED_MODEL = "@openai-prod/text-embedding-3-small"
CHAT_MODEL = "@openai-prod/gpt-4o"
CLASSIFY_PROMPT = (
    "Classify this security handbook passage with one word (access, devices, data, incident, "
    "vendor, other):\n\n{text}"
)
#: The environment variables a worker needs, forwarded by :func:`init_ray`.
GATEWAY_ENV = ("IGRIS_BASE_URL", "IGRIS_API_KEY")
USERS = ("alice@corp.com", "bob@corp.com", "carol@corp.com")


# --- records ----------------------------------------------------------------------------------
def handbook_records(job_trace_id: str, max_chars: int = 600) -> list[dict[str, str]]:
    """The handbook's passages (paragraphs, merged up to ``max_chars``) as records."""
    records: list[dict[str, str]] = []
    for path in sorted(HANDBOOK_DIR.glob("*.md")):
        passage = ""
        for paragraph in path.read_text(encoding="utf-8").split("\n\n"):
            paragraph = paragraph.strip()
            if passage and len(passage) + len(paragraph) > max_chars:
                records.append(_record(len(records), path.name, passage, job_trace_id))
                passage = ""
            passage = f"{passage}\n\n{paragraph}".strip()
        if passage:
            records.append(_record(len(records), path.name, passage, job_trace_id))
    return records


def generated_records(count: int, job_trace_id: str) -> list[dict[str, str]]:
    """``count`` synthetic records, spread over a few source documents and users."""
    topics = ("password rotation", "lost laptop", "phishing report", "vendor access review")
    return [
        _record(
            i,
            f"generated-{i // 100:04d}.md",
            f"Record {i}: a note about {topics[i % len(topics)]} number {i * 7919 % 10007}.",
            job_trace_id,
        )
        for i in range(count)
    ]


def _record(index: int, source: str, text: str, job_trace_id: str) -> dict[str, str]:
    # The user a record is processed for: here by position; in a real job, the document's owner.
    return {
        "id": f"r{index:06d}",
        "source": source,
        "text": text,
        "user": USERS[index % len(USERS)],
        "trace_id": job_trace_id,
    }


# --- the workers ------------------------------------------------------------------------------
def _identity_groups(batch: Mapping[str, Sequence[Any]]) -> dict[tuple[str, str, str], list[int]]:
    """Positions of the batch's records, grouped by (user, trace id, source): one request each."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i in range(len(batch["id"])):
        key = (str(batch["user"][i]), str(batch["trace_id"][i]), str(batch["source"][i]))
        groups.setdefault(key, []).append(i)
    return groups


class EmbedRecords:
    """A Ray Data actor: embeds a batch of records, one request per identity in the batch.

    The model is built here, inside the worker, from the environment (``IGRIS_API_KEY``,
    ``IGRIS_BASE_URL``). The audit entry of each request names the user, the job's trace id,
    the source document and the ids of the records it carried (metadata ``record_ids``).
    """

    def __init__(self, model: str, max_retries: int) -> None:
        from langchain_igris import IgrisEmbeddings

        self._embeddings = IgrisEmbeddings(model=model, max_retries=max_retries)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from igris_core import IgrisError

        size = len(batch["id"])
        vectors: list[list[float] | None] = [None] * size
        errors = [""] * size
        for identity, positions in _identity_groups(batch).items():
            try:
                for i, vector in zip(
                    positions, self._embed(batch, identity, positions), strict=True
                ):
                    vectors[i] = vector
            except IgrisError:
                # One bad record (a denied passage, say) must not fail its neighbours: embed the
                # group's records one by one and keep each one's own outcome.
                for i in positions:
                    try:
                        vectors[i] = self._embed(batch, identity, [i])[0]
                    except IgrisError as exc:
                        errors[i] = f"{type(exc).__name__}: {exc}"
        return {**batch, "embedding": vectors, "error": errors}

    def _embed(
        self, batch: dict[str, Any], identity: tuple[str, str, str], positions: list[int]
    ) -> list[list[float]]:
        from igris_core import igris_context

        user, trace_id, source = identity
        ids = ",".join(str(batch["id"][i]) for i in positions)
        with igris_context(
            user=user, trace_id=trace_id, metadata={"source": source, "record_ids": ids}
        ):
            return self._embeddings.embed_documents([str(batch["text"][i]) for i in positions])


class ClassifyRecords:
    """A Ray Data actor: one chat call per record, each with that record's identity."""

    def __init__(self, model: str, max_retries: int, max_concurrency: int = 4) -> None:
        from langchain_igris import ChatIgris

        self._llm = ChatIgris(model=model, max_retries=max_retries, max_tokens=32, temperature=0)
        self._max_concurrency = max_concurrency

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        errors = [str(e) for e in batch["error"]]
        labels = [""] * len(errors)
        todo = [i for i, error in enumerate(errors) if not error]  # failed records stay failed
        prompts = [CLASSIFY_PROMPT.format(text=batch["text"][i]) for i in todo]
        configs: list[Any] = [
            {
                "max_concurrency": self._max_concurrency,
                "metadata": {
                    "igris_user": str(batch["user"][i]),
                    "igris_trace_id": str(batch["trace_id"][i]),
                    "igris_metadata": {
                        "source": str(batch["source"][i]),
                        "record_ids": str(batch["id"][i]),
                    },
                },
            }
            for i in todo
        ]
        answers = self._llm.batch(prompts, config=configs, return_exceptions=True) if todo else []
        for i, answer in zip(todo, answers, strict=True):
            if isinstance(answer, BaseException):
                errors[i] = f"{type(answer).__name__}: {answer}"
            else:
                labels[i] = str(answer.content).strip()
        return {**batch, "label": labels, "error": errors}


# --- the pipeline -----------------------------------------------------------------------------
@dataclass
class PipelineResult:
    """What the pipeline produced: every record, in input order, with its outcome."""

    records: list[dict[str, Any]]
    seconds: float

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The records that failed for good, each with its ``error``."""
        return [r for r in self.records if r["error"]]

    @property
    def records_per_second(self) -> float:
        """Throughput of the whole run."""
        return len(self.records) / self.seconds if self.seconds else 0.0


def init_ray(num_cpus: int | None = 2, address: str | None = None, **kwargs: Any) -> None:
    """Start (or join) Ray, giving every worker the gateway settings through its environment.

    Only the variables named in :data:`GATEWAY_ENV` that are set here are forwarded; the models
    built in the workers read them, so no key travels inside a pickled object.
    """
    import ray

    env_vars = {name: os.environ[name] for name in GATEWAY_ENV if os.environ.get(name)}
    ray.init(
        address=address,
        num_cpus=None if address else num_cpus,
        runtime_env={"env_vars": env_vars},
        include_dashboard=False,
        log_to_driver=False,
        **kwargs,
    )


def run_pipeline(
    records: Sequence[Mapping[str, str]],
    *,
    embed_model: str = EMBED_MODEL,
    chat_model: str | None = CHAT_MODEL,
    actors: int = 2,
    batch_size: int = 64,
    max_retries: int = 8,
    actor_cpus: float = 0.25,
) -> PipelineResult:
    """Embed (and, with a ``chat_model``, classify) ``records`` on the running Ray instance.

    ``actors`` is the size of each actor pool (``actor_cpus`` CPUs reserved per actor);
    ``max_retries`` the client's retry budget per
    request (429s and 5xx wait for ``Retry-After`` or back off). Records come back in input
    order, each with ``embedding`` (``None`` when it failed), ``label`` (with a chat model) and
    ``error`` (empty when it succeeded).
    """
    import ray.data

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    started = time.perf_counter()
    # Enough blocks for every actor to get work, even for a small corpus.
    blocks = max(2 * actors, -(-len(records) // batch_size))
    dataset = ray.data.from_items([dict(r) for r in records], override_num_blocks=blocks)
    # The actors wait on the network, not the CPU: a fraction of a CPU each lets both pools run
    # at once on a small machine.
    pool = {
        "compute": ray.data.ActorPoolStrategy(size=actors),
        "num_cpus": actor_cpus,
        "batch_size": batch_size,
        "batch_format": "default",
    }
    dataset = dataset.map_batches(
        EmbedRecords,
        fn_constructor_kwargs={"model": embed_model, "max_retries": max_retries},
        **pool,
    )
    if chat_model is not None:
        dataset = dataset.map_batches(
            ClassifyRecords,
            fn_constructor_kwargs={"model": chat_model, "max_retries": max_retries},
            **pool,
        )
    rows = [_plain(row) for row in dataset.iter_rows()]
    return PipelineResult(rows, time.perf_counter() - started)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with numpy values turned into plain Python ones."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = value.tolist() if hasattr(value, "tolist") else value
    return out


# --- the command line -------------------------------------------------------------------------
def _use_gateway(stack: ExitStack) -> str:
    """The configured gateway, else a local gateway started in-process (closed by ``stack``)."""
    if os.environ.get("IGRIS_BASE_URL") and os.environ.get("IGRIS_API_KEY"):
        return "the gateway at " + os.environ["IGRIS_BASE_URL"]
    from igris_core.local_gateway import LocalGateway

    gateway = stack.enter_context(LocalGateway())
    os.environ["IGRIS_BASE_URL"] = gateway.base_url
    os.environ["IGRIS_API_KEY"] = gateway.api_key
    return "a local gateway at " + gateway.base_url


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pipeline from the command line and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=None, help="a generated corpus of N records")
    parser.add_argument("--actors", type=int, default=2, help="actors per pool (default 2)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--embed-model", default=EMBED_MODEL)
    parser.add_argument("--chat-model", default=CHAT_MODEL)
    parser.add_argument("--no-chat", action="store_true", help="embed only")
    parser.add_argument("--trace-id", default=f"ray-job-{int(time.time())}")
    args = parser.parse_args(argv)

    import ray

    with ExitStack() as stack:
        where = _use_gateway(stack)
        records = (
            generated_records(args.records, args.trace_id)
            if args.records is not None
            else handbook_records(args.trace_id)
        )
        print(f"{len(records)} records, {args.actors} actors per pool, through {where}")
        init_ray()
        try:
            result = run_pipeline(
                records,
                embed_model=args.embed_model,
                chat_model=None if args.no_chat else args.chat_model,
                actors=args.actors,
                batch_size=args.batch_size,
            )
        finally:
            ray.shutdown()
    done = len(result.records) - len(result.failed)
    print(f"{done} records done in {result.seconds:.1f} s ({result.records_per_second:.0f}/s)")
    for record in result.records[:3]:
        label = f", label {record['label']!r}" if "label" in record else ""
        print(f"  {record['id']} {record['source']}: {len(record['embedding'] or [])} dims{label}")
    for record in result.failed:
        print(f"  FAILED {record['id']} ({record['source']}): {record['error']}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
