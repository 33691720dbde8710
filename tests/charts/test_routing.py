"""Which Service a request reaches through the chart's Ingresses or its HTTPRoute, matched as the
Kubernetes Ingress and Gateway API specifications say: a Prefix path matches element by element
and ignores a trailing slash, the longest match wins, Exact before Prefix. The admin page
`/admin` is the storefront's (a Prefix "/admin/" would have taken it), every admin API route
the search pods'."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute

from tests.charts.helm import RELEASE, of_kind, render
from visualsearch.handlers.insights import router as insights_router

FULL = f"{RELEASE}-visual-search"
STOREFRONT = f"{FULL}-storefront"
SEARCH = f"{FULL}-search"
ADMIN_API = sorted(
    route.path.replace("{job_id}", "0" * 32)
    for route in insights_router.routes
    if isinstance(route, APIRoute) and route.path.startswith("/admin/")
)


@dataclass(frozen=True)
class Route:
    path: str
    exact: bool
    service: str

    def matches(self, request: str) -> bool:
        if self.exact:
            return request == self.path
        wanted = elements(self.path)
        return elements(request)[: len(wanted)] == wanted


def elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def reached(routes: list[Route], request: str) -> str:
    """The Service of the longest matching route (Exact first among equals)."""
    path = request.split("?", 1)[0]
    matching = [r for r in routes if r.matches(path)]
    assert matching, f"no route for {request}"
    best = max(matching, key=lambda r: (len(elements(r.path)), r.exact))
    return best.service


def ingress_routes(objs: list[dict]) -> list[Route]:
    """The paths of every Ingress of the release (one host: a controller merges them)."""
    return [
        Route(p["path"], p["pathType"] == "Exact", p["backend"]["service"]["name"])
        for ingress in of_kind(objs, "Ingress")
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]


def httproute_routes(objs: list[dict]) -> list[Route]:
    (route,) = of_kind(objs, "HTTPRoute")
    return [
        Route(
            match["path"]["value"], match["path"]["type"] == "Exact", rule["backendRefs"][0]["name"]
        )
        for rule in route["spec"]["rules"]
        for match in rule["matches"]
    ]


@pytest.fixture(scope="module", params=["ingress", "httproute"])
def routes(request: pytest.FixtureRequest) -> list[Route]:
    if request.param == "ingress":
        return ingress_routes(render())
    return httproute_routes(
        render(values={"gateway.enabled": True, "gateway.parentRefs[0].name": "public"})
    )


def test_the_admin_api_has_routes_to_route() -> None:
    assert {"/admin/insights", "/admin/status"} <= set(ADMIN_API)


@pytest.mark.parametrize(
    "page", ["/admin", "/admin/", "/admin.html", "/", "/index.html", "/js/admin/main.js"]
)
def test_the_admin_page_and_the_storefront_files_are_the_storefronts(
    routes: list[Route], page: str
) -> None:
    assert reached(routes, page) == STOREFRONT
    # no API route takes the page, however a controller ranks the matches
    assert [r.service for r in routes if r.matches(page)] == [STOREFRONT]


@pytest.mark.parametrize("path", [*ADMIN_API, "/admin/insights?days=7", "/events", "/search"])
def test_the_admin_api_and_events_reach_the_search_pods(routes: list[Route], path: str) -> None:
    assert reached(routes, path) == SEARCH
