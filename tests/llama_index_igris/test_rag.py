"""Done means: a RAG pipeline over the offline gateway. A VectorStoreIndex over a few dozen
short documents embedded with IgrisEmbedding; a query engine answers with IgrisLLM; the
retrieved source nodes are the lexically right ones. Plain, streaming and async."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.node_parser import SentenceSplitter

from igris_core.local_gateway import LocalGateway
from llama_index_igris import IgrisEmbedding, IgrisLLM

FACTS = {
    "eiffel": (
        "The Eiffel Tower is a wrought iron lattice tower standing on the Champ de Mars in Paris."
    ),
    "wall": (
        "The Great Wall of China is a series of fortifications built along the "
        "northern borders of ancient Chinese states."
    ),
    "everest": (
        "Mount Everest is the highest mountain above sea level, located in the "
        "Mahalangur Himal range of the Himalayas."
    ),
    "amazon": (
        "The Amazon rainforest covers most of the Amazon basin of South "
        "America and is the largest tropical rainforest."
    ),
    "nile": (
        "The Nile is a major north flowing river in northeastern Africa that "
        "drains into the Mediterranean Sea."
    ),
    "sahara": (
        "The Sahara is a desert spanning North Africa and is the largest hot desert in the world."
    ),
    "colosseum": (
        "The Colosseum is an elliptical amphitheatre in the centre of Rome "
        "built of travertine limestone and tuff."
    ),
    "pyramids": (
        "The Giza pyramids are ancient Egyptian tombs built for the pharaohs "
        "Khufu, Khafre and Menkaure."
    ),
    "kangaroo": (
        "Kangaroos are marsupials from Australia with powerful hind legs, a "
        "long tail and a pouch for their joeys."
    ),
    "penguin": (
        "Emperor penguins breed during the Antarctic winter and the males "
        "incubate a single egg on their feet."
    ),
    "honeybee": (
        "Honeybees live in colonies with one queen, thousands of workers and "
        "drones, and they store honey in wax combs."
    ),
    "octopus": (
        "An octopus has eight arms lined with suckers, three hearts and blue copper based blood."
    ),
    "photosynthesis": (
        "Photosynthesis lets plants turn sunlight, water and carbon dioxide "
        "into glucose and oxygen inside chloroplasts."
    ),
    "volcano": (
        "A volcano is a rupture in the crust where lava, volcanic ash and "
        "gases escape from a magma chamber."
    ),
    "tides": (
        "Ocean tides are the rise and fall of sea levels caused by the "
        "gravitational pull of the Moon and the Sun."
    ),
    "jupiter": (
        "Jupiter is the largest planet in the Solar System, a gas giant with a "
        "Great Red Spot storm."
    ),
    "saturn": "Saturn is famous for its bright rings made of ice particles, rocky debris and dust.",
    "mars": (
        "Mars is the red planet, whose iron oxide dust gives its surface a rusty reddish colour."
    ),
    "moon": (
        "The Moon landing of Apollo 11 in 1969 put Neil Armstrong and Buzz "
        "Aldrin on the lunar surface."
    ),
    "python": (
        "Python is a programming language created by Guido van Rossum that "
        "emphasises readable indentation."
    ),
    "rust": (
        "Rust is a systems programming language focused on memory safety "
        "through ownership and borrowing."
    ),
    "sourdough": (
        "Sourdough bread rises with a starter of wild yeast and lactic acid "
        "bacteria instead of commercial yeast."
    ),
    "espresso": (
        "Espresso is coffee brewed by forcing hot water under high pressure "
        "through finely ground beans."
    ),
    "sushi": (
        "Sushi is a Japanese dish of vinegared rice served with raw fish, seaweed and vegetables."
    ),
    "chess": (
        "Chess is a board game for two players where each side moves a king, "
        "queen, rooks, bishops, knights and pawns."
    ),
    "marathon": (
        "A marathon is a long distance running race of 42.195 kilometres, "
        "named after the Greek town of Marathon."
    ),
    "violin": "The violin is a bowed string instrument with four strings tuned in perfect fifths.",
    "mona": (
        "The Mona Lisa is a portrait painted by Leonardo da Vinci, displayed at the Louvre museum."
    ),
    "bitcoin": (
        "Bitcoin is a decentralised digital currency recorded on a public "
        "blockchain ledger by miners."
    ),
    "vaccine": (
        "A vaccine trains the immune system to recognise a pathogen by exposing it to an antigen."
    ),
    "glacier": (
        "A glacier is a persistent body of dense ice that slowly moves under its own weight."
    ),
    "tulip": (
        "Tulips are spring flowering bulbs that became a speculative craze in the Dutch golden age."
    ),
}
QUERIES = [
    ("Which wrought iron lattice tower stands on the Champ de Mars?", "eiffel"),
    ("How many hearts does an octopus have, and what are its arms lined with?", "octopus"),
    ("Which planet has bright rings made of ice particles?", "saturn"),
    ("What does sourdough bread use instead of commercial yeast?", "sourdough"),
]


def _documents() -> list[Document]:
    return [Document(text=text, id_=topic) for topic, text in FACTS.items()]


@pytest.fixture
def rag_llm(gw: LocalGateway) -> IgrisLLM:
    # The echo backend answers with the prompt it was given: keep the answers short.
    return IgrisLLM(
        model="@openai-prod/gpt-4o", api_key=gw.api_key, base_url=gw.base_url, max_tokens=48
    )


@pytest.fixture
def index(embed_model: IgrisEmbedding, gw: LocalGateway) -> VectorStoreIndex:
    built = VectorStoreIndex.from_documents(
        _documents(), embed_model=embed_model, transformations=[SentenceSplitter(chunk_size=256)]
    )
    assert [e.route for e in gw.audit] == ["embeddings"]  # one batch for all the documents
    gw.reset()
    return built


def test_query_engine(index: VectorStoreIndex, rag_llm: IgrisLLM, gw: LocalGateway) -> None:
    engine = index.as_query_engine(llm=rag_llm, similarity_top_k=2)
    for question, topic in QUERIES:
        response = engine.query(question)
        assert isinstance(response, Response)
        assert response.source_nodes[0].node.ref_doc_id == topic
        assert response.response  # the echo backend's answer: the prompt, with the context
        assert "Context information is below" in response.response
    assert [e.route for e in gw.audit] == ["embeddings", "chat"] * len(QUERIES)
    assert all(e.status == 200 and e.usage for e in gw.audit)


def test_streaming_query_engine(
    index: VectorStoreIndex, rag_llm: IgrisLLM, gw: LocalGateway
) -> None:
    engine = index.as_query_engine(llm=rag_llm, similarity_top_k=2, streaming=True)
    question, topic = QUERIES[0]
    response = engine.query(question)
    assert isinstance(response, StreamingResponse)
    assert response.source_nodes[0].node.ref_doc_id == topic
    pieces = list(response.response_gen)
    assert len(pieces) > 5
    assert "".join(pieces).startswith("Context information is below")
    assert gw.audit[-1].stream is True and gw.audit[-1].usage is not None


async def test_async_index_and_query(
    embed_model: IgrisEmbedding, rag_llm: IgrisLLM, gw: LocalGateway
) -> None:
    nodes = SentenceSplitter(chunk_size=256).get_nodes_from_documents(_documents())
    index = VectorStoreIndex(nodes=[], embed_model=embed_model)
    await index.ainsert_nodes(nodes)
    engine = index.as_query_engine(llm=rag_llm, similarity_top_k=3)
    for question, topic in QUERIES:
        response = await engine.aquery(question)
        assert response.source_nodes[0].node.ref_doc_id == topic
        assert "Context information is below" in str(response)
    streaming = index.as_query_engine(llm=rag_llm, similarity_top_k=1, streaming=True)
    response = await streaming.aquery(QUERIES[2][0])
    assert response.source_nodes[0].node.ref_doc_id == QUERIES[2][1]
    text = "".join([piece async for piece in response.async_response_gen()])
    assert text.startswith("Context information is below")
    assert {e.route for e in gw.audit} == {"embeddings", "chat"}


def test_chat_engine(index: VectorStoreIndex, rag_llm: IgrisLLM, gw: LocalGateway) -> None:
    engine = index.as_chat_engine(chat_mode="context", llm=rag_llm, similarity_top_k=1)
    response = engine.chat("Which planet has bright rings made of ice particles?")
    assert response.source_nodes[0].node.ref_doc_id == "saturn"
    assert gw.audit[-1].route == "chat" and gw.audit[-1].status == 200


@pytest.fixture
def igris_settings(rag_llm: IgrisLLM, embed_model: IgrisEmbedding) -> Iterator[None]:
    """Settings.llm / Settings.embed_model set to the Igris models, restored afterwards."""
    saved = (Settings._llm, Settings._embed_model)
    Settings.llm = rag_llm
    Settings.embed_model = embed_model
    yield
    Settings._llm, Settings._embed_model = saved


@pytest.mark.usefixtures("igris_settings")
def test_settings_send_everything_through_the_gateway(gw: LocalGateway) -> None:
    index = VectorStoreIndex.from_documents(_documents())
    response = index.as_query_engine(similarity_top_k=1).query(QUERIES[1][0])
    assert response.source_nodes[0].node.ref_doc_id == QUERIES[1][1]
    assert [e.route for e in gw.audit] == ["embeddings", "embeddings", "chat"]
