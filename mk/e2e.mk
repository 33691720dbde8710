# End to end on a real one-node Kubernetes cluster (tests/e2e, harness in tests/support/node).
# Included by the Makefile. Needs root; prerequisites: tools/k8s/install-e2e-prereqs.sh (run by
# `make e2e-binaries`). Not run by `make test`; .ci/run runs it after the tests.

E2E_CACHE   ?= $(HOME)/.cache/visualsearch/k8s
E2E_IMAGES  ?= $(E2E_CACHE)/e2e-images
E2E_PYTHON  ?= $(BIN)/python

.PHONY: e2e e2e-binaries e2e-images

e2e-binaries: ## containerd/crun/buildah (apt) and kubelet, kube-scheduler, kube-proxy (+ control plane, helm, kubectl, etcd), cached
	tools/k8s/install-e2e-prereqs.sh

e2e-images: $(STAMP) e2e-binaries ## Images of the e2e (pause, services, storefront, operator, Traefik; nginx, Redis, PostgreSQL, S3 stand-ins) as archives in $(E2E_IMAGES)
	@mkdir -p $(E2E_IMAGES)
	$(E2E_PYTHON) -m tests.support.node.pause $(E2E_IMAGES)
	@# buildah cannot push over an existing docker-archive: export afresh (unchanged layers are reused).
	rm -f $(E2E_CACHE)/images/archives/visual-search-operator.tar
	EXPORT=1 IMAGE_TAG=0.1.0 tools/k8s/build-images.sh operator
	$(E2E_PYTHON) -m tests.support.node.traefik $(E2E_IMAGES)
	ln -f $(E2E_CACHE)/images/archives/visual-search-operator.tar $(E2E_IMAGES)/visual-search-operator.tar
	tools/k8s/build-e2e-images.sh $(E2E_IMAGES)

e2e: $(STAMP) e2e-images ## The end-to-end test on a one-node cluster in its own namespaces (timings printed)
	@echo "stand-ins: the Python base image is Debian bookworm's Python 3.11 (debootstrap), not the official image;" \
	  "the storefront's nginx-unprivileged base is Debian's nginx 1.22 (tests/e2e/images/nginx)"
	time $(E2E_PYTHON) -m tests.support.node run --images $(E2E_IMAGES) -- \
	  $(E2E_PYTHON) -m pytest -p no:cacheprovider -x -s -q tests/e2e/e2e_cluster.py
