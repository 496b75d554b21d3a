"""/health (no auth): is the store reachable, which version runs."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from entrypoints.web.dto import HealthResponse
from entrypoints.web.deps import StoreDep


@get("/health", opt={"public": True}, security=[], sync_to_thread=True, tags=["operations"],
     responses={503: ResponseSpec(data_container=HealthResponse, description="The store does not answer",
                                  generate_examples=False)})
def health(store: StoreDep, version: NamedDependency[str]) -> Response[HealthResponse]:
    """200 when the store answers, 503 when it does not (for load balancers and probes)."""
    try:
        store.schema_version()
        return Response(HealthResponse(status="ok", store="reachable", version=version))
    except Exception:  # noqa: BLE001 - whatever the driver raises, the answer is "unreachable"
        return Response(HealthResponse(status="degraded", store="unreachable", version=version), status_code=503)
