"""The audit trail: the entries recorded per call, their JSON view, the browser page (with its
static files) and the one-line request log."""
