# The operator: run it against the current kubeconfig, install its CRDs, apply the examples, test.
# Included by the Makefile (`-include mk/*.mk`). `make operator-help` lists the targets.

OPERATOR_NAMESPACE ?=
OPERATOR_PYTHON    ?= $(BIN)
OPERATOR_KUBECTL   ?= $(if $(wildcard $(HOME)/.cache/visualsearch/k8s/bin/kubectl),$(HOME)/.cache/visualsearch/k8s/bin/kubectl,kubectl)
DEMO_NAMESPACE     ?= shop

.PHONY: operator-help operator-run operator-crds operator-demo operator-sync-crds test-operator \
        test-operator-unit lint-operator

operator-help: ## List the operator targets
	@grep -hE '^[a-z0-9-]+:.*## ' mk/operator.mk | sed -E 's/:.*## /\t/' | expand -t 22

operator-run: $(STAMP) ## Run the operator here against $KUBECONFIG (OPERATOR_NAMESPACE=ns, else all namespaces)
	$(OPERATOR_PYTHON)/visualsearch-operator $(if $(OPERATOR_NAMESPACE),--namespace $(OPERATOR_NAMESPACE),--all-namespaces) --verbose

operator-crds: ## Install or upgrade the CRDs (helm never upgrades a chart's crds/)
	$(OPERATOR_KUBECTL) apply -f crds/

operator-demo: operator-crds ## Apply the demo index + demo catalogue into DEMO_NAMESPACE
	$(OPERATOR_KUBECTL) create namespace $(DEMO_NAMESPACE) --dry-run=client -o yaml | $(OPERATOR_KUBECTL) apply -f -
	$(OPERATOR_KUBECTL) apply -n $(DEMO_NAMESPACE) -f manifests/demo.yaml
	$(OPERATOR_KUBECTL) get visualsearchindexes,catalogsources -n $(DEMO_NAMESPACE)

operator-sync-crds: ## Copy crds/ into the operator chart (a test checks they are identical)
	cp crds/*.yaml charts/visual-search-operator/crds/

test-operator: test-deps ## Operator tests: unit + real kube-apiserver/controller-manager + kopf (about 2 min)
	$(OPERATOR_PYTHON)/pytest -q tests/operator

test-operator-unit: $(STAMP) ## Operator unit tests only (builders, schemas, schedules; seconds)
	$(OPERATOR_PYTHON)/pytest -q tests/operator -m "not slow"

lint-operator: $(STAMP) ## ruff + mypy on the operator package and its tests
	$(OPERATOR_PYTHON)/ruff check operator tests/operator
	$(OPERATOR_PYTHON)/ruff format --check operator tests/operator
	$(OPERATOR_PYTHON)/mypy operator/visualsearch_operator
