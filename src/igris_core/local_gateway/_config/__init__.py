"""The gateway's configuration: the settings dataclasses, the TOML file (and its annotated
example), scripted replies in TOML, and the provider registry."""
