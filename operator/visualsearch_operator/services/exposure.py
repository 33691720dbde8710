"""What an index's exposure can promise on this cluster: the rate limit and the Gateway route."""

from __future__ import annotations

from typing import Any

from visualsearch_operator.builders.common import Capabilities
from visualsearch_operator.services import status as st
from visualsearch_operator.spec import IndexSpec


def exposure_conditions(
    spec: IndexSpec, caps: Capabilities, generation: int
) -> list[dict[str, Any]]:
    """Whether the rate limit and the Gateway route can hold on this cluster, said in status."""
    ing = spec.ingress
    found: list[dict[str, Any]] = []
    if ing.enabled and ing.rate_limit_per_minute > 0:
        if ing.controller == "nginx":
            found.append(
                st.condition(
                    "RateLimited",
                    True,
                    "NginxAnnotations",
                    f"{ing.rate_limit_per_minute}/min per client IP (ingress-nginx limit-rpm)",
                    generation,
                )
            )
        elif caps.traefik_middleware:
            found.append(
                st.condition(
                    "RateLimited",
                    True,
                    "TraefikMiddleware",
                    f"{ing.rate_limit_per_minute}/min per client IP (Traefik Middleware)",
                    generation,
                )
            )
        else:
            found.append(
                st.condition(
                    "RateLimited",
                    False,
                    "TraefikCRDMissing",
                    "the traefik.io Middleware CRD is not installed: "
                    "the API Ingress is not rate-limited",
                    generation,
                )
            )
    if spec.gateway_enabled:
        found.append(
            st.condition(
                "GatewayRouted",
                caps.gateway_api,
                "HTTPRoute" if caps.gateway_api else "GatewayAPIMissing",
                "HTTPRoute applied"
                if caps.gateway_api
                else "gateway.networking.k8s.io/v1 is not served: no HTTPRoute",
                generation,
            )
        )
    return found
