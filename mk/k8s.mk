# Kubernetes: images, local cluster (kind), Helm deploy, chart checks, test control plane.
# Included by the Makefile (`-include mk/*.mk`). `make k8s-help` lists the targets.

K8S_CACHE      ?= $(HOME)/.cache/visualsearch/k8s
K8S_BIN        := $(K8S_CACHE)/bin
HELM           ?= $(if $(wildcard $(K8S_BIN)/helm),$(K8S_BIN)/helm,helm)
KUBECTL        ?= $(if $(wildcard $(K8S_BIN)/kubectl),$(K8S_BIN)/kubectl,kubectl)
KIND           ?= kind
DOCKER         ?= docker
KIND_CLUSTER   ?= visual-search
NAMESPACE      ?= visual-search
RELEASE        ?= visual-search
IMAGE_TAG      ?= dev
VALUES         ?=
INGRESS_NGINX_VERSION ?= controller-v1.12.0
CHARTS         := $(wildcard charts/*/Chart.yaml)
K8S_PYTHON     ?= $(BIN)/python

.PHONY: k8s-help kube-tools images kind-up kind-load kind-down deps deploy undeploy deploy-seed \
        helm-lint helm-template chart-docs test-charts control-plane skaffold-dev

k8s-help: ## List the Kubernetes targets
	@grep -hE '^[a-z0-9-]+:.*## ' mk/k8s.mk | sed -E 's/:.*## /\t/' | expand -t 18

kube-tools: $(STAMP) ## Install helm/kubectl/etcd and build kube-apiserver + controller-manager into $(K8S_CACHE)
	PIP="$(K8S_PYTHON) -m pip" tools/k8s/install-tools.sh
	tools/k8s/build-control-plane.sh

images: ## Build the three images (services, storefront, operator) with tag $(IMAGE_TAG)
	$(DOCKER) build -t visual-search:$(IMAGE_TAG) .
	$(DOCKER) build -t visual-search-storefront:$(IMAGE_TAG) frontend
	$(DOCKER) build -t visual-search-operator:$(IMAGE_TAG) -f operator/Dockerfile .

kind-up: ## Create the kind cluster (kind-config.yaml) with ingress-nginx answering 429 over the limit
	$(KIND) get clusters | grep -qx $(KIND_CLUSTER) || $(KIND) create cluster --name $(KIND_CLUSTER) --config kind-config.yaml
	$(KUBECTL) apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/$(INGRESS_NGINX_VERSION)/deploy/static/provider/kind/deploy.yaml
	$(KUBECTL) -n ingress-nginx patch configmap ingress-nginx-controller --type merge \
	  -p '{"data":{"limit-req-status-code":"429","limit-conn-status-code":"429"}}'
	$(KUBECTL) -n ingress-nginx wait --for=condition=Ready pod -l app.kubernetes.io/component=controller --timeout=180s

kind-load: images ## Build the images and load them into the kind cluster
	$(KIND) load docker-image --name $(KIND_CLUSTER) visual-search:$(IMAGE_TAG) visual-search-storefront:$(IMAGE_TAG) visual-search-operator:$(IMAGE_TAG)

kind-down: ## Delete the kind cluster
	$(KIND) delete cluster --name $(KIND_CLUSTER)

deps: ## Package the store charts into charts/visual-search/charts (helm dependency build)
	$(HELM) dependency build charts/visual-search

deploy: deps ## helm upgrade --install the platform into $(NAMESPACE) (VALUES=file for overrides)
	$(HELM) upgrade --install $(RELEASE) charts/visual-search --namespace $(NAMESPACE) --create-namespace \
	  --set image.tag=$(IMAGE_TAG) --set storefront.image.tag=$(IMAGE_TAG) $(if $(VALUES),-f $(VALUES))

undeploy: ## helm uninstall the platform (PersistentVolumeClaims of the stores are kept)
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE)

deploy-seed: ## Load the demo catalogue into the deployed platform (kubectl exec)
	$(KUBECTL) -n $(NAMESPACE) exec deploy/$(RELEASE)-indexer -- visualsearch seed --demo

helm-lint: deps ## helm lint every chart
	@set -e; for chart in $(dir $(CHARTS)); do $(HELM) lint --strict $$chart; done

chart-docs: $(STAMP) ## Regenerate each chart's README.md (values table) from its values.yaml comments
	$(K8S_PYTHON) tools/chart_docs.py

helm-template: deps ## Render the platform chart with default values to stdout
	$(HELM) template $(RELEASE) charts/visual-search --namespace $(NAMESPACE)

test-charts: test-deps ## Chart tests: lint, render, install into the loopback control plane
	$(K8S_PYTHON) -m pytest tests/charts -q

control-plane: test-deps ## Run etcd + kube-apiserver + controller-manager on loopback until Ctrl-C
	$(K8S_PYTHON) -m tests.support.kube

skaffold-dev: ## skaffold dev with the dev profile (rebuild + redeploy on change)
	skaffold dev -p dev
