"""An index's children as the operator renders them from the charts, against expected values.

They are ``charts/visual-search`` and its store charts rendered by ``helm template`` with values
computed from the spec (so these tests need the helm binary, as the operator does).
"""

from __future__ import annotations

from typing import Any

from tests.operator.cluster import EMBEDDER
from tests.support.kube import find_binary
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.builders.stores import build_credentials
from visualsearch_operator.charts import ChartRenderer
from visualsearch_operator.services.index_reconcile import render_children
from visualsearch_operator.spec import parse_index_spec

OWNER = Owner("VisualSearchIndex", "demo", "shop", "uid-1234")
CAPS = Capabilities(hpa_api_version="autoscaling/v2beta2")
EXTERNAL = {
    "vectorStore": {
        "external": {
            "url": "https://qdrant.example.com:6333",
            "apiKeySecretRef": {"name": "qd", "key": "api-key"},
        }
    },
    "database": {"external": {"urlSecretRef": {"name": "db", "key": "url"}}},
    "objectStore": {
        "bucket": "shop",
        "external": {"endpoint": "s3.example.com", "credentialsSecretRef": {"name": "s3"}},
    },
    "redis": {"external": {"urlSecretRef": {"name": "rd", "key": "url"}}},
}


RENDERER = ChartRenderer(helm=str(find_binary("helm")))


def build(spec: dict[str, Any], caps: Capabilities = CAPS) -> dict[tuple[str, str], dict[str, Any]]:
    manifests = render_children(RENDERER, OWNER, parse_index_spec(spec), caps)
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_hpa_is_sized_from_the_spec() -> None:
    objs = build(
        {"embedding": {"minReplicas": 2, "maxReplicas": 7, "targetCPUUtilizationPercentage": 55}}
    )
    hpa = objs[("HorizontalPodAutoscaler", f"demo-{EMBEDDER}")]
    assert hpa["apiVersion"] == "autoscaling/v2beta2"
    assert hpa["spec"] == {
        "scaleTargetRef": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"demo-{EMBEDDER}",
        },
        "minReplicas": 2,
        "maxReplicas": 7,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 55},
                },
            }
        ],
    }
    # The autoscaler owns the replica count: the Deployment must not fight it on every apply.
    assert "replicas" not in objs[("Deployment", f"demo-{EMBEDDER}")]["spec"]


def test_hpa_api_version_follows_the_cluster() -> None:
    objs = build({}, Capabilities(hpa_api_version="autoscaling/v2"))
    assert objs[("HorizontalPodAutoscaler", f"demo-{EMBEDDER}")]["apiVersion"] == "autoscaling/v2"


def test_each_serving_workload_has_a_disruption_budget_in_the_clusters_version() -> None:
    """One pod at a time through a node drain, in the PDB version the cluster serves (the
    e2e node's 1.20 has only policy/v1beta1)."""
    for version in ("policy/v1", "policy/v1beta1"):
        objs = build({"storefront": {"enabled": True}}, Capabilities(pdb_api_version=version))
        budgets = {name: o for (kind, name), o in objs.items() if kind == "PodDisruptionBudget"}
        assert set(budgets) == {f"demo-{c}" for c in (EMBEDDER, "api", "worker", "storefront")}
        for name, budget in budgets.items():
            assert budget["apiVersion"] == version and budget["spec"]["maxUnavailable"] == 1
            deployment = objs[("Deployment", name)]
            assert budget["spec"]["selector"] == deployment["spec"]["selector"], name


def test_embedder_resources_and_no_self_reference() -> None:
    resources = {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "6Gi"}}
    objs = build({"embedding": {"resources": resources}})
    (container,) = objs[("Deployment", f"demo-{EMBEDDER}")]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["resources"] == resources
    assert container["args"] == ["embedder", "--port", "8001"]
    # The embedder embeds locally; only its clients get EMBEDDER_URL.
    assert "VISUALSEARCH_EMBEDDER_URL" not in env_of(container)
    (api,) = objs[("Deployment", "demo-api")]["spec"]["template"]["spec"]["containers"]
    assert env_of(api)["VISUALSEARCH_EMBEDDER_URL"] == f"http://demo-{EMBEDDER}:8001"


def test_nginx_rate_limit_is_on_the_api_ingress_only() -> None:
    objs = build(
        {"ingress": {"host": "shop.example.com", "className": "nginx", "rateLimitPerMinute": 90}}
    )
    api = objs[("Ingress", "demo-api")]
    assert api["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "11m",
        "nginx.ingress.kubernetes.io/limit-rpm": "90",
        "nginx.ingress.kubernetes.io/limit-burst-multiplier": "1",
    }
    assert api["spec"]["ingressClassName"] == "nginx"
    (rule,) = api["spec"]["rules"]
    assert rule["host"] == "shop.example.com"
    assert [p["path"] for p in rule["http"]["paths"]] == [
        "/search",
        "/info",
        "/events",
        "/admin/insights",
        "/admin/status",
        "/admin/dead-letters",
        "/products",
        "/index",
    ]
    assert {p["backend"]["service"]["name"] for p in rule["http"]["paths"]} == {"demo-api"}
    # The chart names the open Ingress after what it mostly serves: the storefront.
    opened = objs[("Ingress", "demo-storefront")]
    assert "nginx.ingress.kubernetes.io/limit-rpm" not in opened["metadata"]["annotations"]
    paths = {
        p["path"]: p["backend"]["service"] for p in opened["spec"]["rules"][0]["http"]["paths"]
    }
    assert paths["/"] == {"name": "demo-storefront", "port": {"number": 80}}
    assert paths["/images"]["name"] == "demo-api"
    assert "/metrics" not in paths


def test_traefik_gets_a_middleware_instead_of_annotations() -> None:
    spec = {"ingress": {"controller": "traefik", "rateLimitPerMinute": 60, "burstMultiplier": 2}}
    objs = build(spec, Capabilities(traefik_middleware=True))
    annotations = objs[("Ingress", "demo-api")]["metadata"]["annotations"]
    assert annotations["traefik.ingress.kubernetes.io/router.middlewares"] == (
        "shop-demo-ratelimit@kubernetescrd"
    )
    assert "nginx.ingress.kubernetes.io/limit-rpm" not in annotations
    middleware = objs[("Middleware", "demo-ratelimit")]
    assert middleware["apiVersion"] == "traefik.io/v1alpha1"
    # Per client address: Traefik's default source criterion.
    assert middleware["spec"]["rateLimit"] == {"average": 60, "period": "1m", "burst": 120}
    # Without the Traefik CRD the Middleware cannot be stored: it is not applied.
    assert ("Middleware", "demo-ratelimit") not in build(spec, Capabilities())


def test_rate_limit_zero_means_no_limit() -> None:
    objs = build({"ingress": {"rateLimitPerMinute": 0}})
    assert (
        "nginx.ingress.kubernetes.io/limit-rpm"
        not in objs[("Ingress", "demo-api")]["metadata"]["annotations"]
    )


def test_http_route_only_when_asked_and_served() -> None:
    spec = {"gateway": {"enabled": True, "parentRefs": [{"name": "public", "namespace": "gw"}]}}
    route = build(spec, Capabilities(gateway_api=True))[("HTTPRoute", "demo")]
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gw"}]
    assert route["spec"]["rules"][-1]["backendRefs"] == [{"name": "demo-storefront", "port": 80}]
    assert ("HTTPRoute", "demo") not in build(spec, Capabilities())


def test_in_cluster_stores_are_statefulsets_with_volumes() -> None:
    objs = build({"vectorStore": {"storage": "3Gi"}, "storageClassName": "fast"})
    names = sorted(name for kind, name in objs if kind == "StatefulSet")
    assert names == ["demo-minio", "demo-postgresql", "demo-qdrant", "demo-redis"]
    qdrant = objs[("StatefulSet", "demo-qdrant")]
    (claim,) = qdrant["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["metadata"]["labels"]["visualsearch.dev/index"] == "demo"
    config = objs[("ConfigMap", "demo-config")]["data"]
    assert config["VISUALSEARCH_QDRANT_URL"] == "http://demo-qdrant:6333"
    assert config["VISUALSEARCH_S3_ENDPOINT"] == "demo-minio:9000"
    assert config["VISUALSEARCH_S3_SECURE"] == "false"


def test_qdrant_replicas_form_a_cluster() -> None:
    objs = build({"vectorStore": {"replicas": 3, "shards": 6}})
    qdrant = objs[("StatefulSet", "demo-qdrant")]
    assert qdrant["spec"]["replicas"] == 3
    (container,) = qdrant["spec"]["template"]["spec"]["containers"]
    assert env_of(container)["QDRANT__CLUSTER__ENABLED"] == "true"
    assert '--bootstrap "http://demo-qdrant-0.demo-qdrant-headless:6335"' in container["args"][0]
    config = objs[("ConfigMap", "demo-config")]["data"]
    assert (
        config["VISUALSEARCH_QDRANT_SHARDS"],
        config["VISUALSEARCH_QDRANT_REPLICATION_FACTOR"],
    ) == ("6", "3")


def test_external_stores_build_no_store_and_point_at_user_secrets() -> None:
    objs = build(EXTERNAL)
    assert not [name for kind, name in objs if kind == "StatefulSet"]
    config = objs[("ConfigMap", "demo-config")]["data"]
    assert config["VISUALSEARCH_QDRANT_URL"] == "https://qdrant.example.com:6333"
    assert config["VISUALSEARCH_S3_ENDPOINT"] == "s3.example.com"
    assert config["VISUALSEARCH_S3_SECURE"] == "true"
    assert config["VISUALSEARCH_S3_BUCKET"] == "shop"
    (worker,) = objs[("Deployment", "demo-worker")]["spec"]["template"]["spec"]["containers"]
    env = env_of(worker)
    assert env["VISUALSEARCH_DATABASE_URL"] == {"secretKeyRef": {"name": "db", "key": "url"}}
    assert env["VISUALSEARCH_REDIS_URL"] == {"secretKeyRef": {"name": "rd", "key": "url"}}
    assert env["VISUALSEARCH_S3_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "s3", "key": "access-key"}
    }
    assert env["VISUALSEARCH_QDRANT_API_KEY"] == {"secretKeyRef": {"name": "qd", "key": "api-key"}}
    # The API key is still generated by the operator unless the spec names one.
    assert env["VISUALSEARCH_API_KEY"] == {
        "secretKeyRef": {"name": "demo-credentials", "key": "api-key"}
    }


def test_every_child_is_owned_labelled_and_hardened() -> None:
    objs = build({})
    for (kind, name), obj in objs.items():
        meta = obj["metadata"]
        assert meta["namespace"] == "shop"
        assert len(name) <= 63
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "visualsearch.dev/v1alpha1",
                "kind": "VisualSearchIndex",
                "name": "demo",
                "uid": "uid-1234",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ], kind
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "visualsearch-operator"
        assert meta["labels"]["visualsearch.dev/index"] == "demo"
        if kind in ("Deployment", "StatefulSet"):
            pod = obj["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in pod["containers"] + pod.get("initContainers", []):
                ctx = container["securityContext"]
                assert ctx["readOnlyRootFilesystem"] is True, name
                assert ctx["capabilities"] == {"drop": ["ALL"]}
                assert "limits" in container["resources"], name
            selector = obj["spec"]["selector"]["matchLabels"]
            assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


def test_api_migrates_the_schema_before_serving() -> None:
    pod = build({"api": {"replicas": 3}})[("Deployment", "demo-api")]
    assert pod["spec"]["replicas"] == 3
    (init,) = pod["spec"]["template"]["spec"]["initContainers"]
    assert init["args"] == ["migrate"]


def test_storefront_can_be_switched_off() -> None:
    objs = build({"storefront": {"enabled": False}})
    assert ("Deployment", "demo-storefront") not in objs
    open_ingress = objs[("Ingress", "demo-storefront")]
    paths = [p["path"] for p in open_ingress["spec"]["rules"][0]["http"]["paths"]]
    assert "/" not in paths


def test_credentials_secret_outlives_the_index() -> None:
    generated = {
        "postgres-password": "pg",
        "redis-password": "rd",
        "minio-access-key": "ak",
        "minio-secret-key": "sk",
        "qdrant-api-key": "qk",
        "api-key": "key",
    }
    secret = build_credentials("demo", "shop", generated)
    assert "ownerReferences" not in secret["metadata"]  # retainData must be able to keep it
    data = secret["stringData"]
    assert (
        data["database-url"]
        == "postgresql://visualsearch:pg@demo-postgresql.shop.svc:5432/visualsearch"
    )
    assert data["redis-url"] == "redis://:rd@demo-redis.shop.svc:6379/0"


def test_a_settings_change_rolls_the_platform_pods() -> None:
    def stamps(spec: dict[str, Any]) -> dict[str, str]:
        objs = build(spec)
        return {
            name: obj["spec"]["template"]["metadata"]
            .get("annotations", {})
            .get("checksum/config", "")
            for (kind, name), obj in objs.items()
            if kind == "Deployment"
        }

    before, after = stamps({}), stamps({"cacheTTLSeconds": 60})
    for name in (f"demo-{EMBEDDER}", "demo-api", "demo-worker"):
        assert before[name] and before[name] != after[name], name
    assert before["demo-storefront"] == "" == after["demo-storefront"]  # static files only
    assert stamps({"api": {"replicas": 5}}) == before  # scaling is no settings change


def test_reindex_job_embeds_with_the_new_model_itself() -> None:
    from visualsearch_operator.builders.reindex import build_reindex_job, reindex_job_name

    spec = parse_index_spec({"model": "openai/clip-vit-large-patch14"})
    job = build_reindex_job(OWNER, spec)
    assert job["metadata"]["name"] == reindex_job_name("demo", spec.model)
    assert job["metadata"]["name"].startswith("demo-reindex-")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["reindex", "--yes"]
    env = env_of(container)
    assert env["VISUALSEARCH_MODEL"] == "openai/clip-vit-large-patch14"  # overrides the ConfigMap
    assert "VISUALSEARCH_EMBEDDER_URL" not in env  # the embedder still serves the old model
    assert container["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]
    assert len(reindex_job_name("x" * 80, spec.model)) == 63


def test_exposure_conditions_say_what_holds_on_this_cluster() -> None:
    from visualsearch_operator.services.exposure import exposure_conditions

    def found(spec: dict[str, Any], caps: Capabilities) -> dict[str, tuple[str, str]]:
        conds = exposure_conditions(parse_index_spec(spec), caps, 1)
        return {c["type"]: (c["status"], c["reason"]) for c in conds}

    assert found({}, CAPS) == {"RateLimited": ("True", "NginxAnnotations")}
    traefik = {"ingress": {"controller": "traefik"}}
    assert found(traefik, Capabilities())["RateLimited"] == ("False", "TraefikCRDMissing")
    assert found(traefik, Capabilities(traefik_middleware=True))["RateLimited"][0] == "True"
    assert found({"ingress": {"rateLimitPerMinute": 0}}, CAPS) == {}
    gateway = {"gateway": {"enabled": True, "parentRefs": [{"name": "gw"}]}}
    assert found(gateway, CAPS)["GatewayRouted"] == ("False", "GatewayAPIMissing")
    assert found(gateway, Capabilities(gateway_api=True))["GatewayRouted"] == ("True", "HTTPRoute")


def test_synonyms_reach_the_api_pods_as_a_file_and_a_change_restarts_nothing() -> None:
    rules = "couch, sofa\ntee => t shirt\n"
    objs = build({"synonyms": rules})
    assert objs[("ConfigMap", "demo-synonyms")]["data"] == {"synonyms.txt": rules}
    api = objs[("Deployment", "demo-api")]["spec"]["template"]["spec"]
    main = api["containers"][0]
    assert env_of(main)["VISUALSEARCH_SYNONYMS_FILE"] == "/etc/visual-search/synonyms/synonyms.txt"
    assert {"name": "synonyms", "configMap": {"name": "demo-synonyms"}} in api["volumes"]
    worker = objs[("Deployment", "demo-worker")]["spec"]["template"]["spec"]["containers"][0]
    assert "VISUALSEARCH_SYNONYMS_FILE" not in env_of(worker)
    # the API re-imports a changed file: the Deployments stay as they are
    changed = build({"synonyms": rules + "sneakers => running shoes\n"})
    assert changed[("Deployment", "demo-api")] == objs[("Deployment", "demo-api")]
    assert changed[("ConfigMap", "demo-synonyms")] != objs[("ConfigMap", "demo-synonyms")]
    assert ("ConfigMap", "demo-synonyms") not in build({})


def test_a_null_the_chart_renders_is_held_by_a_field_the_server_left_out() -> None:
    """The storefront Ingress behind Traefik renders ``annotations:`` empty (null); the API
    server stores no annotations, and the next reconcile must find nothing to apply (it applied
    the Ingress again every minute, and a model switch waited on a reconcile applying nothing)."""
    from visualsearch_operator.kube import contains

    objs = build(
        {
            "storefront": {"enabled": True},
            "ingress": {"className": "traefik", "controller": "traefik"},
        },
        Capabilities(traefik_middleware=True),
    )
    ingress = objs[("Ingress", "demo-storefront")]
    assert ingress["metadata"]["annotations"] is None
    stored = {
        **ingress,
        "metadata": {k: v for k, v in ingress["metadata"].items() if v is not None},
    }
    assert contains(stored, ingress)
    assert not contains(stored, {**ingress, "metadata": {"annotations": {"a": "b"}}})
    assert not contains(
        {"metadata": {"annotations": {"a": "b"}}}, {"metadata": {"annotations": None}}
    )
