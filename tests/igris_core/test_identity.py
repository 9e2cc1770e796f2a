"""Identity headers: validation, encoding, precedence, contextvars scopes."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igris_core import Identity, IgrisInputError, IgrisInputTypeError, igris_context
from igris_core._identity import (
    current_context,
    decode_header_value,
    encode_header_value,
    identity_headers,
    resolve_identity,
)

_no_control = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200
).filter(lambda s: s.strip())


@given(_no_control)
def test_header_encoding_round_trips(value: str) -> None:
    encoded = encode_header_value(value)
    assert encoded.isascii()
    assert all(0x20 <= ord(ch) < 0x7F for ch in encoded)
    assert encoded == encoded.strip()  # HTTP would strip outer spaces
    assert decode_header_value(encoded) == value


def test_printable_ascii_stays_readable() -> None:
    assert encode_header_value("alice@corp.com") == "alice@corp.com"
    assert encode_header_value("a b/c:d") == "a b/c:d"
    assert encode_header_value("Zoë") == "Zo%C3%AB"
    assert encode_header_value("100%25") == "100%2525"
    assert encode_header_value(" x ") == "%20x%20"


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "a\x1bb", "a\x7fb", "\x85"])
@pytest.mark.parametrize("where", ["user", "trace_id", "metadata value"])
def test_control_characters_refused(bad: str, where: str) -> None:
    with pytest.raises(IgrisInputError, match="control characters") as info:
        if where == "user":
            Identity(user=bad)
        elif where == "trace_id":
            Identity(trace_id=bad)
        else:
            Identity(metadata={"k": bad})
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("key", ["", "a b", "a\nb", "ü", "k" * 65, "a.b", "a:b"])
def test_bad_metadata_keys(key: str) -> None:
    with pytest.raises(IgrisInputError, match="metadata key"):
        Identity(metadata={key: "v"})


def test_non_string_values_and_wrong_types() -> None:
    with pytest.raises(IgrisInputTypeError, match=r"metadata value 3 \(int\) for key 'n'"):
        Identity(metadata={"n": 3})  # type: ignore[dict-item]
    with pytest.raises(IgrisInputTypeError, match="expected a mapping"):
        Identity(metadata=["a"])  # type: ignore[arg-type]
    with pytest.raises(IgrisInputTypeError, match="invalid user 5"):
        Identity(user=5)  # type: ignore[arg-type]
    with pytest.raises(IgrisInputError, match="non-empty"):
        Identity(user="  ")


def test_oversized_metadata() -> None:
    with pytest.raises(IgrisInputError, match="at most 32"):
        Identity(metadata={f"k{i}": "v" for i in range(33)})
    with pytest.raises(IgrisInputError, match="at most 512 characters"):
        Identity(metadata={"k": "v" * 513})
    big = Identity(metadata={f"k{i}": "é" * 300 for i in range(30)})
    with pytest.raises(IgrisInputError, match="bytes once encoded"):
        identity_headers(big)


def test_precedence_and_metadata_merge() -> None:
    call = Identity(user="call", metadata={"a": "call"})
    run = Identity(user="run", trace_id="run-trace", metadata={"A": "run", "b": "run"})
    scope = Identity(trace_id="scope-trace", metadata={"c": "scope"})
    defaults = Identity(user="default", metadata={"b": "default", "d": "default"})
    merged = resolve_identity(call, run, scope, defaults)
    assert merged.user == "call"
    assert merged.trace_id == "run-trace"
    assert dict(merged.metadata) == {"a": "call", "b": "run", "c": "scope", "d": "default"}


def test_body_user_is_the_last_resort() -> None:
    assert identity_headers(Identity(), "body-user") == {"X-Igris-User": "body-user"}
    assert identity_headers(Identity(user="u"), "body-user") == {"X-Igris-User": "u"}


def test_context_nesting_threads_and_tasks() -> None:
    assert current_context() is None
    with igris_context(user="outer", metadata={"a": "1"}):
        with igris_context(trace_id="t", metadata={"b": "2"}) as inner:
            assert inner.user == "outer"
            assert dict(inner.metadata) == {"a": "1", "b": "2"}
            seen: list[object] = []
            ctx = contextvars.copy_context()
            thread = threading.Thread(target=lambda: seen.append(ctx.run(current_context)))
            thread.start()
            thread.join()
            assert seen[0] == inner

            async def task_view() -> object:
                await asyncio.sleep(0)
                return current_context()

            assert asyncio.run(task_view()) == inner
        assert current_context() == Identity(user="outer", metadata={"a": "1"})
    assert current_context() is None


def test_context_refuses_bad_values_on_entry() -> None:
    with pytest.raises(IgrisInputError), igris_context(user="bad\r\nX-Evil: 1"):
        pass
    assert current_context() is None


def test_one_function_builds_a_calls_identity_layer_for_every_caller() -> None:
    """``pop_identity`` (what both frameworks use) takes the ``igris_*`` arguments off a call's
    keyword arguments and lays them over the layers beneath; bad values name their source."""
    from igris_core._inputs import pop_identity

    kwargs: dict[str, object] = {"igris_user": "ann", "igris_metadata": {"a": "1"}, "x": 1}
    under = Identity("bob", "t-1", {"a": "0", "b": "2"})
    assert pop_identity(kwargs, under) == Identity("ann", "t-1", {"a": "1", "b": "2"})
    assert kwargs == {"x": 1}
    assert pop_identity(kwargs) is None and pop_identity({}, None, under) == under
    with pytest.raises(IgrisInputTypeError, match=r"\(from the RunnableConfig metadata\)$"):
        pop_identity({"igris_user": 5}, where="the RunnableConfig metadata")
