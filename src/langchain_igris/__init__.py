"""LangChain integration of the Igris LLM security gateway.

``ChatIgris`` (a chat model) and ``IgrisEmbeddings`` route every call through the gateway with
its identity headers; both are built on ``igris_core``.

Example::

    from langchain_igris import ChatIgris

    llm = ChatIgris(model="@openai-prod/gpt-4o")  # IGRIS_API_KEY, IGRIS_BASE_URL
    llm.invoke("Hello", igris_user="alice@corp.com")
"""

from igris_core import igris_context
from langchain_igris.chat_models import ChatIgris
from langchain_igris.embeddings import IgrisEmbeddings

__all__ = ["ChatIgris", "IgrisEmbeddings", "igris_context"]
