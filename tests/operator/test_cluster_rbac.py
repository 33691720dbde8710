"""The operator chart's RBAC is enough: the operator runs the demo as its ServiceAccount."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from kopf.testing import KopfRunner

from tests.operator.cluster import MANIFESTS, V, expect_event, phase_is
from tests.operator.conftest import OPERATOR_ENV, wait_for
from tests.operator.helpers import ROOT
from tests.operator.kubelet import mark_pods_ready
from tests.support.kube.controlplane import ControlPlane
from visualsearch_operator.kube import KubeClient

CHART = ROOT / "charts" / "visual-search-operator"


def service_account_kubeconfig(
    plane: ControlPlane, kube: KubeClient, ns: str, sa: str, path: Path
) -> Path:
    """A kubeconfig that authenticates as ``ns/sa`` with its token (made by the token controller)."""

    def token() -> str | None:
        account = kube.get("v1", "ServiceAccount", ns, sa)
        for ref in (account or {}).get("secrets") or []:
            secret = kube.get("v1", "Secret", ns, ref["name"])
            if secret and (secret.get("data") or {}).get("token"):
                return base64.b64decode(secret["data"]["token"]).decode()
        return None

    admin = yaml.safe_load(plane.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "plane", "cluster": cluster}],
        "users": [{"name": sa, "user": {"token": wait_for(token, what="service account token")}}],
        "contexts": [{"name": "sa", "context": {"cluster": "plane", "user": sa, "namespace": ns}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_operator_needs_no_more_than_the_chart_grants(
    crds: ControlPlane, kube: KubeClient, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    release = f"op-{ns}"
    rendered = crds.helm(
        "template",
        release,
        str(CHART),
        "-n",
        ns,
        "--skip-crds",
        "--skip-tests",
        "--set",
        f"watchNamespaces={{{ns}}}",
    ).stdout
    objects = [d for d in yaml.safe_load_all(rendered) if d]
    kinds = sorted(d["kind"] for d in objects)
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    # No kubelet here to run the Deployment: the operator runs in the test, as that account.
    rbac = tmp_path / "rbac.yaml"
    rbac.write_text(
        yaml.safe_dump_all([d for d in objects if d["kind"] not in ("Deployment", "Service")])
    )
    crds.kubectl("apply", "-n", ns, "-f", str(rbac))
    sa = next(d for d in objects if d["kind"] == "ServiceAccount")["metadata"]["name"]
    kubeconfig = service_account_kubeconfig(crds, kube, ns, sa, tmp_path / "sa.kubeconfig")
    forbidden = crds.kubectl(
        "--kubeconfig", str(kubeconfig), "get", "secrets", "-n", "default", check=False
    )
    assert forbidden.returncode != 0 and "forbidden" in forbidden.stderr.lower()

    args = ["run", "-m", "visualsearch_operator.handlers", "--standalone", "--namespace", ns]
    env = crds.env(**OPERATOR_ENV, KUBECONFIG=str(kubeconfig))
    with KopfRunner(args, env=env) as runner:
        crds.kubectl("apply", "-n", ns, "-f", str(MANIFESTS / "demo.yaml"))
        wait_for(phase_is(kube, ns, "demo", "Provisioning", generation=1), what="Provisioning")
        selector = "app.kubernetes.io/instance=demo"
        wait_for(lambda: len(kube.list("v1", "Pod", ns, selector)) >= 9, what="pods")
        mark_pods_ready(kube, ns, selector)
        wait_for(phase_is(kube, ns, "demo", "Ready"), what="Ready")
        expect_event(kube, ns, "demo", "Normal", "Ready")
        wait_for(
            lambda: kube.list("batch/v1", "Job", ns, "visualsearch.dev/source=demo-catalogue"),
            what="the demo catalogue's Job",
        )
        kube.delete(V, "VisualSearchIndex", ns, "demo")
        wait_for(lambda: kube.get(V, "VisualSearchIndex", ns, "demo") is None, what="deleted")
        assert kube.list("apps/v1", "Deployment", ns, "visualsearch.dev/index=demo") == []
        assert kube.get("v1", "Secret", ns, "demo-credentials") is None
    assert runner.exception is None
    output: Any = runner.output
    # kopf logs an APIForbiddenError as "Forbidden" (timestamps may well contain "403").
    assert "forbidden" not in output.lower(), output[-3000:]
