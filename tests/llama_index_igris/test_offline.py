"""Importing llama_index_igris, building its models and using LlamaIndex's default tokenizer and
sentence splitter need no network (no tiktoken or NLTK download), checked in a fresh interpreter
whose sockets refuse everything from the first import on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CODE = textwrap.dedent(
    """
    import socket

    def refuse(*args, **kwargs):
        raise SystemExit(f"network access attempted: {args!r}")

    socket.socket.connect = refuse
    socket.getaddrinfo = refuse

    import llama_index_igris
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.utils import get_tokenizer

    assert get_tokenizer()("hello world")
    # Paragraphs that fit a chunk each: NLTK's punkt is not needed (see the report about
    # NLTK refusing LlamaIndex's hard-linked bundled data in uv-built environments).
    text = (chr(10) * 3).join(f"Paragraph {i} is short." for i in range(20))
    nodes = SentenceSplitter(chunk_size=32, chunk_overlap=0).get_nodes_from_documents(
        [Document(text=text)]
    )
    assert len(nodes) > 1
    llama_index_igris.IgrisLLM(model="@openai-prod/gpt-4o", api_key="ig_x")
    llama_index_igris.IgrisEmbedding(model="@openai-prod/e", api_key="ig_x")
    print("offline ok")
    """
)


def test_import_and_defaults_need_no_network() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "offline ok" in done.stdout
