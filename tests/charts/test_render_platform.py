"""Render tests of charts/visual-search: components, autoscaling, ingress and rate limits,
Traefik and Gateway API options, configuration and secrets, jobs and the helm test hook."""

from __future__ import annotations

import base64

import pytest

from tests.charts.helm import (
    NAMESPACE,
    PLATFORM,
    RELEASE,
    env_of,
    named,
    of_kind,
    pod_spec,
    render,
    render_error,
)

FULL = f"{RELEASE}-visual-search"
API_COMPONENTS = {
    "search": "search,info,insights",
    "products": "products,images",
    "indexer": "index",
}


@pytest.fixture(scope="module")
def default_objs() -> list[dict]:
    return render()


def container(objs: list[dict], component: str) -> dict:
    return pod_spec(named(objs, "Deployment", f"{FULL}-{component}"))["containers"][0]


def test_api_deployments_run_their_routes(default_objs: list[dict]) -> None:
    for component, routes in API_COMPONENTS.items():
        args = container(default_objs, component)["args"]
        assert args[0] == "api"
        assert args[args.index("--routes") + 1] == routes
        assert args[args.index("--port") + 1] == "8000"
        service = named(default_objs, "Service", f"{FULL}-{component}")
        assert service["spec"]["ports"][0]["port"] == 8000


def test_http_pods_drain_before_they_stop(default_objs: list[dict]) -> None:
    """A stopping HTTP pod is told to drain (SIGUSR1: answers close their connections) and keeps
    serving drainSeconds; the worker, which serves nothing, only waits; 0 turns the hook off."""
    for component in [*API_COMPONENTS, "embedder"]:
        hook = container(default_objs, component)["lifecycle"]["preStop"]["exec"]["command"]
        assert hook == ["sh", "-c", "kill -USR1 1; sleep 5"], (component, hook)
    assert container(default_objs, "worker")["lifecycle"]["preStop"]["exec"]["command"] == [
        "sleep",
        "5",
    ]
    longer = render(values={"drainSeconds": 12})
    assert container(longer, "search")["lifecycle"]["preStop"]["exec"]["command"][2].endswith(
        "sleep 12"
    )
    off = render(values={"drainSeconds": 0})
    assert all("lifecycle" not in container(off, c) for c in [*API_COMPONENTS, "worker"])


def test_worker_embedder_and_storefront(default_objs: list[dict]) -> None:
    assert container(default_objs, "worker")["args"] == ["worker"]
    assert container(default_objs, "embedder")["args"] == ["embedder", "--port", "8001"]
    storefront = container(default_objs, "storefront")
    assert storefront["image"] == "visual-search-storefront:0.1.0"
    upstreams = env_of(storefront)
    assert upstreams["SEARCH_UPSTREAM"]["value"] == f"http://{FULL}-search:8000"
    assert upstreams["PRODUCTS_UPSTREAM"]["value"] == f"http://{FULL}-products:8000"
    assert upstreams["INDEX_UPSTREAM"]["value"] == f"http://{FULL}-indexer:8000"
    assert upstreams["CLIENT_MAX_BODY_SIZE"]["value"] == "11m"


def test_image_values_reach_every_services_container() -> None:
    objs = render(values={"image.repository": "reg.example/vs", "image.tag": "1.2.3"})
    for component in ("search", "products", "indexer", "worker", "embedder"):
        assert container(objs, component)["image"] == "reg.example/vs:1.2.3"
    for job in of_kind(objs, "Job"):
        assert pod_spec(job)["containers"][0]["image"] == "reg.example/vs:1.2.3"


def test_probes_on_health_and_ready(default_objs: list[dict]) -> None:
    for component in ("search", "products", "indexer", "embedder"):
        c = container(default_objs, component)
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert c["livenessProbe"]["httpGet"]["path"] == "/health"
        assert c["startupProbe"]["httpGet"]["path"] == "/health"
    # The model load may take minutes: the embedder's startup budget is larger.
    embedder = container(default_objs, "embedder")["startupProbe"]
    search = container(default_objs, "search")["startupProbe"]
    assert embedder["failureThreshold"] > search["failureThreshold"]
    assert container(default_objs, "storefront")["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_hpa_v2_with_bounds_from_values() -> None:
    objs = render(
        values={
            "embedder.autoscaling.minReplicas": 2,
            "embedder.autoscaling.maxReplicas": 9,
            "embedder.autoscaling.targetCPUUtilizationPercentage": 55,
        }
    )
    (hpa,) = of_kind(objs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{FULL}-embedder",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 9)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 55}
    # The HPA owns the replica count.
    assert "replicas" not in named(objs, "Deployment", f"{FULL}-embedder")["spec"]


def test_hpa_v2beta2_on_clusters_without_autoscaling_v2() -> None:
    objs = render("--kube-version", "1.20.2")
    (hpa,) = of_kind(objs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2beta2"
    for pdb in of_kind(objs, "PodDisruptionBudget"):
        assert pdb["apiVersion"] == "policy/v1beta1"


def test_hpa_version_can_be_forced_and_memory_target_added() -> None:
    objs = render(
        values={
            "embedder.autoscaling.apiVersion": "autoscaling/v2beta2",
            "embedder.autoscaling.targetMemoryUtilizationPercentage": 80,
        }
    )
    (hpa,) = of_kind(objs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2beta2"
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu", "memory"]


def test_no_hpa_when_autoscaling_is_off() -> None:
    objs = render(values={"embedder.autoscaling.enabled": False, "embedder.replicaCount": 3})
    assert of_kind(objs, "HorizontalPodAutoscaler") == []
    assert named(objs, "Deployment", f"{FULL}-embedder")["spec"]["replicas"] == 3


def ingress_paths(ingress: dict) -> dict[str, str]:
    (rule,) = ingress["spec"]["rules"]
    return {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}


def test_ingress_rate_limits_the_api_at_60_per_minute(default_objs: list[dict]) -> None:
    api = named(default_objs, "Ingress", f"{FULL}-api")
    annotations = api["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "60"
    assert annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "1"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "11m"
    assert api["spec"]["ingressClassName"] == "nginx"
    assert api["spec"]["rules"][0]["host"] == "visual-search.localtest.me"
    assert ingress_paths(api) == {
        "/search": f"{FULL}-search",
        "/info": f"{FULL}-search",
        "/products": f"{FULL}-products",
        "/index": f"{FULL}-indexer",
        "/events": f"{FULL}-search",
        "/admin/insights": f"{FULL}-search",
        "/admin/status": f"{FULL}-search",
        "/admin/dead-letters": f"{FULL}-search",
    }
    # Storefront files and images are not counted against the API limit.
    storefront = named(default_objs, "Ingress", f"{FULL}-storefront")
    assert not any("limit" in key for key in storefront["metadata"]["annotations"])
    paths = ingress_paths(storefront)
    assert paths["/"] == f"{FULL}-storefront"
    assert paths["/images"] == f"{FULL}-products"


def test_rate_limit_values() -> None:
    objs = render(
        values={"ingress.rateLimit.requestsPerMinute": 120, "ingress.rateLimit.burstMultiplier": 2}
    )
    annotations = named(objs, "Ingress", f"{FULL}-api")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "120"
    assert annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "2"
    off = render(values={"ingress.rateLimit.enabled": False})
    annotations = named(off, "Ingress", f"{FULL}-api")["metadata"]["annotations"]
    assert "nginx.ingress.kubernetes.io/limit-rpm" not in annotations


def test_traefik_middleware_carries_the_limit() -> None:
    objs = render(values={"ingress.controller": "traefik", "ingress.className": "traefik"})
    (middleware,) = of_kind(objs, "Middleware")
    assert middleware["apiVersion"] == "traefik.io/v1alpha1"
    assert middleware["spec"]["rateLimit"] == {"average": 60, "period": "1m", "burst": 60}
    api = named(objs, "Ingress", f"{FULL}-api")
    annotations = api["metadata"]["annotations"]
    name = middleware["metadata"]["name"]
    assert annotations["traefik.ingress.kubernetes.io/router.middlewares"] == (
        f"{NAMESPACE}-{name}@kubernetescrd"
    )
    assert not any(key.startswith("nginx.ingress") for key in annotations)
    storefront = named(objs, "Ingress", f"{FULL}-storefront")
    assert "traefik.ingress.kubernetes.io/router.middlewares" not in (
        storefront["metadata"].get("annotations") or {}
    )


def test_traefik_v2_api_group_when_the_cluster_serves_it() -> None:
    objs = render(
        "--api-versions",
        "traefik.containo.us/v1alpha1",
        values={"ingress.controller": "traefik"},
    )
    assert of_kind(objs, "Middleware")[0]["apiVersion"] == "traefik.containo.us/v1alpha1"


def test_no_middleware_with_nginx(default_objs: list[dict]) -> None:
    assert of_kind(default_objs, "Middleware") == []
    assert of_kind(default_objs, "HTTPRoute") == []


def test_gateway_api_httproute() -> None:
    objs = render(
        values={
            "gateway.enabled": True,
            "gateway.parentRefs[0].name": "public",
            "gateway.parentRefs[0].namespace": "gateways",
            "gateway.hostnames[0]": "shop.example.com",
        }
    )
    (route,) = of_kind(objs, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateways"}]
    assert route["spec"]["hostnames"] == ["shop.example.com"]
    backends = {
        r["matches"][0]["path"]["value"]: r["backendRefs"][0]["name"]
        for r in route["spec"]["rules"]
    }
    assert backends["/search"] == f"{FULL}-search"
    assert backends["/index"] == f"{FULL}-indexer"
    assert backends["/"] == f"{FULL}-storefront"


def config(objs: list[dict]) -> dict[str, str]:
    return named(objs, "ConfigMap", FULL)["data"]


def test_configmap_holds_settings_and_in_cluster_endpoints(default_objs: list[dict]) -> None:
    data = config(default_objs)
    assert data["VISUALSEARCH_QDRANT_URL"] == f"http://{RELEASE}-qdrant:6333"
    assert data["VISUALSEARCH_S3_ENDPOINT"] == f"{RELEASE}-minio:9000"
    assert data["VISUALSEARCH_S3_SECURE"] == "false"
    assert data["VISUALSEARCH_REDIS_CACHE_TTL"] == "3600"
    assert data["VISUALSEARCH_MODEL"] == "auto"
    assert data["VISUALSEARCH_MAX_UPLOAD_BYTES"] == "10485760"
    assert all(key.startswith("VISUALSEARCH_") for key in data)


def test_secrets_never_in_the_configmap(default_objs: list[dict]) -> None:
    data = config(default_objs)
    for key in ("API_KEY", "DATABASE_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY", "QDRANT_API_KEY"):
        assert f"VISUALSEARCH_{key}" not in data
    # No secret value of any rendered Secret appears in any ConfigMap value.
    secret_values = {
        base64.b64decode(v).decode()
        for s in of_kind(default_objs, "Secret")
        for v in (s.get("data") or {}).values()
    }
    assert secret_values, "the default render has Secrets"
    for value in data.values():
        assert not any(secret in value for secret in secret_values if len(secret) > 8)


def test_store_credentials_come_from_the_stores_secrets(default_objs: list[dict]) -> None:
    env = env_of(container(default_objs, "search"))
    secrets = {s["metadata"]["name"]: s for s in of_kind(default_objs, "Secret")}

    def ref(name: str) -> tuple[str, str]:
        key_ref = env[name]["valueFrom"]["secretKeyRef"]
        assert key_ref["key"] in secrets[key_ref["name"]]["data"], name
        return key_ref["name"], key_ref["key"]

    assert ref("VS_POSTGRES_PASSWORD") == (f"{RELEASE}-postgresql", "postgres-password")
    assert env["VISUALSEARCH_DATABASE_URL"]["value"] == (
        f"postgresql://visualsearch:$(VS_POSTGRES_PASSWORD)@{RELEASE}-postgresql:5432/visualsearch"
    )
    assert ref("VS_REDIS_PASSWORD") == (f"{RELEASE}-redis", "redis-password")
    assert env["VISUALSEARCH_REDIS_URL"]["value"] == (
        f"redis://:$(VS_REDIS_PASSWORD)@{RELEASE}-redis:6379/0"
    )
    assert ref("VISUALSEARCH_S3_ACCESS_KEY") == (f"{RELEASE}-minio", "root-user")
    assert ref("VISUALSEARCH_S3_SECRET_KEY") == (f"{RELEASE}-minio", "root-password")
    assert ref("VISUALSEARCH_QDRANT_API_KEY") == (f"{RELEASE}-qdrant", "api-key")
    # A $(VAR) reference only expands when VAR is defined earlier in the list.
    names = list(env)
    assert names.index("VS_POSTGRES_PASSWORD") < names.index("VISUALSEARCH_DATABASE_URL")
    assert names.index("VS_REDIS_PASSWORD") < names.index("VISUALSEARCH_REDIS_URL")
    envfrom = container(default_objs, "search")["envFrom"]
    assert envfrom == [{"configMapRef": {"name": FULL}}, {"secretRef": {"name": FULL}}]


def test_embedder_url_only_for_its_clients(default_objs: list[dict]) -> None:
    url = f"http://{FULL}-embedder:8001"
    for component in ("search", "products", "indexer", "worker"):
        assert (
            env_of(container(default_objs, component))["VISUALSEARCH_EMBEDDER_URL"]["value"] == url
        )
    assert "VISUALSEARCH_EMBEDDER_URL" not in env_of(container(default_objs, "embedder"))
    embedder = named(default_objs, "Service", f"{FULL}-embedder")
    assert embedder["spec"]["ports"][0]["port"] == 8001


EXTERNAL = {
    "qdrant.enabled": False,
    "postgresql.enabled": False,
    "minio.enabled": False,
    "redis.enabled": False,
    "externalQdrant.url": "https://qdrant.example.com:6333",
    "externalQdrant.existingSecret": "qdrant-creds",
    "externalDatabase.url": "postgresql://shop:pw@db.example.com:5432/shop",
    "externalS3.endpoint": "s3.example.com:443",
    "externalS3.existingSecret": "s3-creds",
    "externalRedis.url": "redis://cache.example.com:6379/0",
}


def test_external_stores_render_no_statefulset_and_point_at_the_endpoints() -> None:
    objs = render(values=EXTERNAL)
    assert of_kind(objs, "StatefulSet") == []
    assert [s["metadata"]["name"] for s in of_kind(objs, "Secret")] == [FULL]
    data = config(objs)
    assert data["VISUALSEARCH_QDRANT_URL"] == "https://qdrant.example.com:6333"
    assert data["VISUALSEARCH_S3_ENDPOINT"] == "s3.example.com:443"
    assert data["VISUALSEARCH_S3_SECURE"] == "true"
    assert data["VISUALSEARCH_REDIS_URL"] == "redis://cache.example.com:6379/0"
    assert "VISUALSEARCH_DATABASE_URL" not in data
    secret = named(objs, "Secret", FULL)["data"]
    assert (
        base64.b64decode(secret["VISUALSEARCH_DATABASE_URL"]).decode()
        == EXTERNAL["externalDatabase.url"]
    )
    env = env_of(container(objs, "search"))
    assert env["VISUALSEARCH_QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "qdrant-creds"
    assert env["VISUALSEARCH_S3_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "s3-creds",
        "key": "secret-key",
    }
    assert "VS_POSTGRES_PASSWORD" not in env and "VS_REDIS_PASSWORD" not in env


def test_external_urls_from_existing_secrets() -> None:
    objs = render(
        values={
            **EXTERNAL,
            "externalDatabase.url": "",
            "externalDatabase.existingSecret": "db-creds",
            "externalRedis.url": "",
            "externalRedis.existingSecret": "redis-creds",
        }
    )
    env = env_of(container(objs, "worker"))
    assert env["VISUALSEARCH_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "db-creds",
        "key": "database-url",
    }
    assert env["VISUALSEARCH_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "redis-creds"
    assert "VISUALSEARCH_REDIS_URL" not in config(objs)
    assert "VISUALSEARCH_DATABASE_URL" not in (named(objs, "Secret", FULL).get("data") or {})


@pytest.mark.parametrize(
    ("switched_off", "message"),
    [
        ("qdrant.enabled", "externalQdrant.url is required"),
        ("postgresql.enabled", "externalDatabase.url or externalDatabase.existingSecret"),
        ("minio.enabled", "externalS3.endpoint is required"),
        ("redis.enabled", "externalRedis.url or externalRedis.existingSecret"),
    ],
)
def test_a_store_switched_off_needs_its_endpoint(switched_off: str, message: str) -> None:
    assert message in render_error(values={switched_off: False})


def test_api_key_secret_generated_or_given(default_objs: list[dict]) -> None:
    generated = base64.b64decode(
        named(default_objs, "Secret", FULL)["data"]["VISUALSEARCH_API_KEY"]
    )
    assert len(generated) == 40 and generated.isalnum()
    given = render(values={"apiKey.value": "s3cr3t-key"})
    assert base64.b64decode(named(given, "Secret", FULL)["data"]["VISUALSEARCH_API_KEY"]) == (
        b"s3cr3t-key"
    )
    existing = render(values={"apiKey.existingSecret": "shop-api", "apiKey.secretKey": "token"})
    # Nothing left for the chart's Secret to hold: it is not rendered, nor referenced.
    assert FULL not in [s["metadata"]["name"] for s in of_kind(existing, "Secret")]
    assert container(existing, "indexer")["envFrom"] == [{"configMapRef": {"name": FULL}}]
    env = env_of(container(existing, "indexer"))
    assert env["VISUALSEARCH_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "shop-api",
        "key": "token",
    }


def test_migrate_job_per_revision_and_optional_demo_seed(default_objs: list[dict]) -> None:
    (job,) = of_kind(default_objs, "Job")
    assert job["metadata"]["name"] == f"{FULL}-migrate-1"
    assert pod_spec(job)["containers"][0]["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "OnFailure"
    seeded = render(values={"seed.demo": True})
    args = {
        j["metadata"]["name"]: pod_spec(j)["containers"][0]["args"] for j in of_kind(seeded, "Job")
    }
    assert args[f"{FULL}-seed-demo-1"] == ["seed", "--demo"]


def test_helm_test_hook(default_objs: list[dict]) -> None:
    (pod,) = of_kind(default_objs, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    assert f"http://{FULL}-search:8000/ready" in script
    assert f"http://{FULL}-storefront:80/" in script
    assert f"http://{FULL}-embedder:8001/ready" in script
    compile(script, "helm-test", "exec")  # the embedded check is valid Python
    # the one-Deployment API (what the operator deploys) is checked in place of search
    (compact,) = of_kind(render(values={"api.enabled": True}), "Pod")
    script = compact["spec"]["containers"][0]["args"][0]
    assert f"http://{FULL}-api:8000/ready" in script and "-search:" not in script
    compile(script, "helm-test", "exec")


def test_pdbs_for_replicated_components(default_objs: list[dict]) -> None:
    names = {p["metadata"]["name"] for p in of_kind(default_objs, "PodDisruptionBudget")}
    assert names == {f"{FULL}-{c}" for c in ("search", "products", "embedder", "storefront")}
    assert {p["apiVersion"] for p in of_kind(default_objs, "PodDisruptionBudget")} == {"policy/v1"}


def test_components_can_be_switched_off() -> None:
    objs = render(
        values={"indexer.enabled": False, "storefront.enabled": False, "worker.enabled": False}
    )
    names = {d["metadata"]["name"] for d in of_kind(objs, "Deployment")}
    assert names == {f"{FULL}-{c}" for c in ("search", "products", "embedder")}
    assert "/index" not in ingress_paths(named(objs, "Ingress", f"{FULL}-api"))
    assert "/" not in ingress_paths(named(objs, "Ingress", f"{FULL}-storefront"))


def test_dev_values_render_small() -> None:
    objs = render("-f", str(PLATFORM / "values-dev.yaml"))
    assert of_kind(objs, "HorizontalPodAutoscaler") == []
    assert of_kind(objs, "PodDisruptionBudget") == []
    assert config(objs)["VISUALSEARCH_MODEL"] == "efficientnet-lite0"
    for sts in of_kind(objs, "StatefulSet"):
        assert "volumeClaimTemplates" not in sts["spec"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ingress.controller": "haproxy"}, "ingress.controller must be one of"),
        ({"config.logFormat": "xml"}, "config.logFormat must be one of"),
        ({"search.routes": "search;admin"}, "search.routes"),
        ({"ingress.rateLimit.requestsPerMinute": -1}, "requestsPerMinute"),
        ({"externalS3.endpoint": "https://s3.example.com"}, "externalS3.endpoint"),
        ({"embedder.autoscaling.minReplicas": 6}, "minReplicas (6) is above maxReplicas (5)"),
    ],
)
def test_invalid_values_are_refused(values: dict, message: str) -> None:
    assert message in render_error(values=values)


def test_servicemonitors_where_prometheus_operator_is_served() -> None:
    values = {
        "metrics.serviceMonitor.enabled": True,
        "metrics.serviceMonitor.labels.release": "kps",
    }
    assert of_kind(render(values=values), "ServiceMonitor") == []
    monitors = of_kind(
        render("--api-versions", "monitoring.coreos.com/v1", values=values), "ServiceMonitor"
    )
    assert {m["metadata"]["name"] for m in monitors} == {
        f"{FULL}-{c}" for c in ("search", "products", "indexer", "embedder")
    }
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "kps"
        assert monitor["spec"]["endpoints"] == [
            {"port": "http", "path": "/metrics", "interval": "30s"}
        ]


def test_network_policy_admits_the_release_and_the_ingress_controller() -> None:
    assert of_kind(render(), "NetworkPolicy") == []
    objs = render(values={"networkPolicy.enabled": True})
    (policy,) = of_kind(objs, "NetworkPolicy")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    # Every pod of the release, the stores' included, is covered.
    pods = [
        o["metadata"]["labels"]
        if o["kind"] == "Pod"
        else o["spec"]["template"]["metadata"]["labels"]
        for o in objs
        if o["kind"] in {"Deployment", "StatefulSet", "Job", "Pod"}
    ]
    assert len(pods) == 12
    assert all(selector.items() <= labels.items() for labels in pods)
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": RELEASE}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
    ]
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_pgvector_keeps_vectors_in_postgresql_without_qdrant() -> None:
    objs = render(values={"vectorStore.type": "pgvector", "qdrant.enabled": "false"})
    data = config(objs)
    assert data["VISUALSEARCH_VECTOR_STORE"] == "pgvector"
    assert not any(key.startswith("VISUALSEARCH_QDRANT") for key in data)
    assert not any("qdrant" in s["metadata"]["name"] for s in of_kind(objs, "StatefulSet"))
    assert "VISUALSEARCH_QDRANT_API_KEY" not in env_of(container(objs, "search"))
    assert config(render())["VISUALSEARCH_VECTOR_STORE"] == "qdrant"


def test_the_grafana_dashboard_ships_the_shopper_figures() -> None:
    import json

    assert not [o for o in render() if o["metadata"]["name"].endswith("-dashboard")]
    objs = render("--set", "metrics.grafanaDashboard.enabled=true")
    (config,) = [
        o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard")
    ]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config["data"]["visual-search-insights.json"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "visualsearch_shopper_searches_total",
        "visualsearch_clicked_searches_total",
        "visualsearch_click_reciprocal_rank_total",
        "visualsearch_zero_result_searches_total",
        "visualsearch_low_score_searches_total",
        "visualsearch_search_seconds_bucket",
        "visualsearch_insights_dropped_total",
    ):
        assert metric in exprs, metric


def test_the_platform_dashboard_draws_metrics_the_services_export() -> None:
    """The platform dashboard ships beside the shoppers' one, and every visualsearch_* series
    either dashboard queries is one the services register (a renamed metric fails here)."""
    import json
    import re

    from prometheus_client import REGISTRY

    from visualsearch import metrics  # noqa: F401  (registers the collectors)

    exported = {
        sample
        for family in REGISTRY.collect()
        if family.name.startswith("visualsearch_")
        for sample in (
            family.name,
            f"{family.name}_total",
            f"{family.name}_bucket",
            f"{family.name}_count",
            f"{family.name}_sum",
        )
    }
    objs = render("--set", "metrics.grafanaDashboard.enabled=true")
    (config,) = [
        o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard")
    ]
    platform = json.loads(config["data"]["visual-search-platform.json"])
    assert platform["uid"] == "visual-search-platform"
    titles = " ".join(p["title"] for p in platform["panels"]).lower()
    for topic in ("stage", "cache hit", "queue depth", "jobs", "replicas"):
        assert topic in titles, topic
    for name in ("platform", "insights"):
        dashboard = json.loads(config["data"][f"visual-search-{name}.json"])
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
        exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
        used = set(re.findall(r"\bvisualsearch_\w+", exprs))
        assert used and used <= exported, used - exported
