"""The running server: the Starlette app, its middleware, route table and handlers, the shared
state, the per-request context and :class:`LocalGateway` (the thread that serves it all)."""
