"""The base of every wire type: unknown fields are kept, because providers add fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PrivateAttr


class IgrisModel(BaseModel):
    """A wire object. Fields the gateway or a provider adds are kept (``model_extra``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class GatewayResponse(IgrisModel):
    """A top-level answer of the gateway; remembers the gateway's request id."""

    _igris_request_id: str | None = PrivateAttr(default=None)
    _igris_headers: dict[str, str] | None = PrivateAttr(default=None)

    @property
    def igris_request_id(self) -> str | None:
        """The ``X-Igris-Request-Id`` of the answer, for correlating with the audit trail."""
        return self._igris_request_id

    @property
    def igris_headers(self) -> dict[str, str] | None:
        """The HTTP headers of the answer (lower-case names), when it came from one."""
        return self._igris_headers
