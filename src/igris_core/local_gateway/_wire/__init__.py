"""The wire formats: request bodies read (OpenAI chat, Anthropic messages), answers and streams
written in OpenAI and Anthropic shapes, SSE events, and the error answers of docs/protocol.md."""
