"""Embeddings from the local feature-hashing embedder, through real HTTP."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import LocalGateway
from igris_core.local_gateway._backends.embedder import embed
from igris_core.types import EmbeddingResponse
from tests.local_gateway.helpers import EMBEDDINGS

PASSAGES = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The Great Wall of China stretches thousands of kilometres across northern China.",
    "Python is a programming language known for its readable syntax.",
    "The mitochondria is the powerhouse of the cell, producing ATP.",
    "Mount Everest is the highest mountain above sea level, in the Himalayas.",
    "The stock market crashed in 1929, starting the Great Depression.",
    "Jupiter is the largest planet in our solar system, a gas giant.",
    "Rust guarantees memory safety without a garbage collector.",
    "The Amazon rainforest produces a large share of the world's oxygen.",
    "Beethoven composed nine symphonies, the ninth with a choral finale.",
    "Coffee beans are roasted seeds of the Coffea plant.",
    "The Pacific Ocean is the largest and deepest ocean on Earth.",
    "Bicycles convert pedalling into motion through a chain drive.",
    "Vaccines train the immune system to recognise pathogens.",
    "The Sahara is the largest hot desert in the world.",
    "Chess is a board game for two players on an eight by eight grid.",
    "Honey bees communicate the location of flowers with a waggle dance.",
    "The Rosetta Stone helped scholars decipher Egyptian hieroglyphs.",
    "Volcanoes erupt when magma rises through the Earth's crust.",
]
QUERIES = {
    "Which tower stands in Paris?": 0,
    "how do plants turn light into energy": 1,
    "what is the highest mountain": 5,
    "largest planet of the solar system": 7,
    "memory safety without garbage collection": 8,
    "how many symphonies did Beethoven write": 10,
    "deepest ocean on Earth": 12,
    "how do bees communicate": 17,
    "deciphering Egyptian hieroglyphs": 18,
    "magma and erupting volcanoes": 19,
}


def vectors(client: httpx.Client, texts: list[str] | str, **extra: object) -> list[list[float]]:
    response = client.post(
        EMBEDDINGS, json={"model": "text-embedding-3-small", "input": texts, **extra}
    )
    assert response.status_code == 200, response.text
    parsed = EmbeddingResponse.model_validate(response.json())
    assert [d.index for d in parsed.data] == list(range(len(parsed.data)))
    return [d.embedding for d in parsed.data]  # type: ignore[misc]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_single_input_unit_vector_of_default_size(client: httpx.Client, gw: LocalGateway) -> None:
    (vector,) = vectors(client, "hello world")
    assert len(vector) == 256
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)
    entry = gw.audit[-1]
    assert entry.route == "embeddings"
    assert entry.usage == {"prompt_tokens": 2, "completion_tokens": 0, "total_tokens": 2}


def test_answer_shape_and_usage(client: httpx.Client) -> None:
    body = {"model": "text-embedding-3-small", "input": ["a b", "c d e"]}
    answer = client.post(EMBEDDINGS, json=body).json()
    assert answer["object"] == "list"
    assert answer["model"] == "text-embedding-3-small"
    assert answer["usage"] == {"prompt_tokens": 5, "total_tokens": 5}
    assert [d["object"] for d in answer["data"]] == ["embedding", "embedding"]


def test_dimensions_are_honoured(client: httpx.Client, gw: LocalGateway) -> None:
    assert len(vectors(client, "x", dimensions=64)[0]) == 64
    gw.add_connection("wide", embedding_dimensions=1024)
    response = client.post(protocol.embeddings_path("wide"), json={"model": "m", "input": "x"})
    assert len(response.json()["data"][0]["embedding"]) == 1024


def test_vectors_are_deterministic_and_stable_across_processes(client: httpx.Client) -> None:
    first = vectors(client, ["same text", "other"])
    second = vectors(client, ["same text", "other"])
    assert first == second
    # Pinned values: the hashing (BLAKE2b, not hash()) must give these everywhere.
    pinned = [-0.137412, -0.687062, 0.274825, 0.0, -0.274825, -0.54965, 0.192377, -0.137412]
    assert [round(v, 6) for v in vectors(client, "Hello world", dimensions=8)[0]] == pinned


def test_base64_encoding_matches_the_floats(client: httpx.Client) -> None:
    floats = vectors(client, "encode me please", dimensions=32)[0]
    body = {
        "model": "m",
        "input": "encode me please",
        "dimensions": 32,
        "encoding_format": "base64",
    }
    encoded = client.post(EMBEDDINGS, json=body).json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = struct.unpack("<32f", base64.b64decode(encoded))
    assert decoded == pytest.approx(floats, abs=1e-6)


def test_token_id_inputs_are_accepted(client: httpx.Client) -> None:
    one, again = vectors(client, [[1, 2, 3], [1, 2, 3]])
    assert one == again
    assert len(vectors(client, [5, 6, 7])) == 1


def test_lexical_retrieval_finds_the_right_passage(client: httpx.Client) -> None:
    passage_vectors = vectors(client, PASSAGES)
    query_vectors = vectors(client, list(QUERIES))
    for (query, expected), qv in zip(QUERIES.items(), query_vectors, strict=True):
        scores = [cosine(qv, pv) for pv in passage_vectors]
        best = max(range(len(PASSAGES)), key=scores.__getitem__)
        assert best == expected, (query, PASSAGES[best])


def test_embedder_handles_texts_without_words() -> None:
    assert embed("", 4) == [0.0, 0.0, 0.0, 0.0]
    assert embed("!!!", 4) == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "input": []},
        {"model": "m", "input": 5},
        {"model": "m", "input": ["ok", 5]},
        {"input": "no model"},
        {"model": "m", "input": "x", "encoding_format": "hex"},
        {"model": "m", "input": "x", "dimensions": 0},
        {"model": "m", "input": "x", "dimensions": "8"},
    ],
)
def test_bad_embedding_requests_are_422(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post(EMBEDDINGS, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_error"


def test_embeddings_404_on_a_provider_without_them(client: httpx.Client) -> None:
    response = client.post(
        protocol.embeddings_path("anthropic-prod"), json={"model": "m", "input": "x"}
    )
    assert response.status_code == 404
