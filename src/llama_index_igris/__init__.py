"""LlamaIndex integration of the Igris LLM security gateway.

:class:`IgrisLLM` (a ``FunctionCallingLLM``) and :class:`IgrisEmbedding` (a ``BaseEmbedding``)
send every call of an index, query engine, chat engine or agent through the gateway, with its
identity headers and typed errors.

Example::

    from llama_index.core import Settings, VectorStoreIndex
    from llama_index_igris import IgrisEmbedding, IgrisLLM

    Settings.llm = IgrisLLM(model="@openai-prod/gpt-4o")
    Settings.embed_model = IgrisEmbedding(model="@openai-prod/text-embedding-3-small")
    index = VectorStoreIndex.from_documents(documents)
    print(index.as_query_engine().query("What did the author do growing up?"))
"""

from llama_index_igris.embeddings import IgrisEmbedding
from llama_index_igris.llms import IgrisLLM

__all__ = ["IgrisEmbedding", "IgrisLLM"]
