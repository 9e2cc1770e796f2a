"""What answers a connection: the echo, script, forward (upstream) and llama-cpp backends, the
scripted replies, the feature-hashing embedder and schema-valid instances for forced tools."""
