"""Chat as the backends see it, whatever the wire format: the conversation asked, the answer
given, and the echo backend's notion of words and tokens."""
