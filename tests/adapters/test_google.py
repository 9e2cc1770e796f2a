"""The Google adapter: the LlmConnection stub, the google-genai HttpOptions helper, and a routed
``genai.Client`` reaching the local gateway (which answers 404: its ``google-prod`` connection is
OpenAI-style and does not serve Gemini's native routes)."""

from __future__ import annotations

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from igris_core import Igris, IgrisInputError, IgrisInputTypeError, LlmConnection, igris_context
from igris_core.adapters.google import IgrisHttpOptions, http_options, with_igris
from igris_core.local_gateway import LocalGateway
from tests.adapters.helpers import GATEWAY, IGRIS_KEY


def test_with_igris_returns_the_connection(igris: Igris) -> None:
    conn = with_igris(None, igris, "google-prod", user="alice", metadata={"team": "ml"})
    assert isinstance(conn, LlmConnection)
    assert conn.base_url == f"{GATEWAY}/llm/google-prod/v1"
    assert conn.api_key.get_secret_value() == IGRIS_KEY
    assert conn.headers == {"X-Igris-User": "alice", "X-Igris-Metadata-team": "ml"}
    assert IGRIS_KEY not in repr(conn)

    with igris_context(user="scope-user", trace_id="t-9"):
        scoped = with_igris(None, igris, "google-prod")
        explicit = with_igris(None, igris, "google-prod", user="arg-user")
    assert scoped.headers == {"X-Igris-User": "scope-user", "X-Igris-Trace-Id": "t-9"}
    assert explicit.headers["X-Igris-User"] == "arg-user"  # as connect_llm: arguments first


def test_with_igris_refuses_a_client_and_bad_arguments(igris: Igris) -> None:
    with pytest.raises(IgrisInputTypeError, match="http_options"):
        with_igris(genai.Client(api_key="x"), igris, "google-prod")  # type: ignore[arg-type]
    with pytest.raises(IgrisInputError, match="'bad slug'"):
        with_igris(None, igris, "bad slug")
    with pytest.raises(IgrisInputTypeError, match="igris"):
        with_igris(None, None, "google-prod")  # type: ignore[arg-type]


def test_http_options_values(igris: Igris) -> None:
    options = http_options(igris, "google-prod", user="alice", trace_id="t-1")
    assert isinstance(options, genai_types.HttpOptions)
    assert isinstance(options, IgrisHttpOptions)
    assert options.base_url == f"{GATEWAY}/llm/google-prod"
    assert options.headers == {
        "Authorization": f"Bearer {IGRIS_KEY}",
        "X-Igris-User": "alice",
        "X-Igris-Trace-Id": "t-1",
    }
    for text in (repr(options), str(options), repr(options.model_copy(update={"timeout": 5}))):
        assert IGRIS_KEY not in text
        assert "**********" in text
        assert "alice" in text
    with pytest.raises(IgrisInputError, match="invalid user"):
        http_options(igris, "google-prod", user="a\nb")


@pytest.mark.skipif(
    "httpx_client" not in genai_types.HttpOptions.model_fields,
    reason=f"google-genai {genai.__version__} takes no httpx client to mock the transport with "
    "(the local gateway test below covers routing there)",
)
def test_a_routed_genai_client_sends_the_key_and_identity(igris: Igris) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": "hi"}]}, "index": 0}
                ]
            },
        )

    options = http_options(igris, "gemini-native", user="alice").model_copy(
        update={"httpx_client": httpx.Client(transport=httpx.MockTransport(answer))}
    )
    client = genai.Client(api_key=IGRIS_KEY, http_options=options)
    result = client.models.generate_content(model="gemini-2.0-flash", contents="Hello")
    assert result.text == "hi"
    request = seen[-1]
    assert str(request.url).startswith(f"{GATEWAY}/llm/gemini-native/")
    assert request.url.path.endswith("/models/gemini-2.0-flash:generateContent")
    assert request.headers["authorization"] == f"Bearer {IGRIS_KEY}"
    assert request.headers["x-igris-user"] == "alice"


def test_genai_against_the_local_gateway_reaches_it_and_is_audited(gw: LocalGateway) -> None:
    with Igris(gw.api_key, base_url=gw.base_url) as igris:
        client = genai.Client(
            api_key=igris.api_key.get_secret_value(),
            http_options=http_options(igris, "google-prod", user="alice", metadata={"t": "g"}),
        )
        with pytest.raises(genai_errors.ClientError) as info:
            client.models.generate_content(model="gemini-2.0-flash", contents="Hello")
    assert info.value.code == 404  # the echo gateway's google-prod is OpenAI-style
    entry = gw.audit[-1]
    assert entry.status == 404
    assert entry.key_id is not None  # authenticated with the Igris key
    assert entry.connection == "google-prod"
    assert entry.path.startswith("/llm/google-prod/")
    assert entry.path.endswith("/models/gemini-2.0-flash:generateContent")
    assert (entry.user, dict(entry.metadata)) == ("alice", {"t": "g"})


def test_the_recommended_google_path_is_the_openai_adapter(gw: LocalGateway) -> None:
    import openai

    from igris_core.adapters.openai import with_igris as openai_with_igris

    with Igris(gw.api_key, base_url=gw.base_url) as igris:
        client = openai_with_igris(openai.OpenAI(api_key="unused"), igris, "google-prod")
        with igris_context(user="alice"):
            answer = client.chat.completions.create(
                model="gemini-2.0-flash", messages=[{"role": "user", "content": "hello gemini"}]
            )
    assert answer.choices[0].message.content
    entry = gw.audit[-1]
    assert (entry.status, entry.connection, entry.route, entry.user) == (
        200,
        "google-prod",
        "chat",
        "alice",
    )
