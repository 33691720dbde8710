# Load: a bounded soak of `visualsearch serve` on loopback (tests/reliability/soak.py).
# Included by the Makefile (`-include mk/*.mk`). `make test` runs a 20 s version of it.

SOAK_SECONDS ?= 120
SOAK_CONCURRENCY ?= 16

.PHONY: soak

soak: $(STAMP) ## Soak test: mixed search/browse/index for $(SOAK_SECONDS) s at concurrency $(SOAK_CONCURRENCY) (figures: artifacts/soak.json)
	$(BIN)/python -m tests.reliability.soak --duration $(SOAK_SECONDS) --concurrency $(SOAK_CONCURRENCY) --report artifacts/soak.json
