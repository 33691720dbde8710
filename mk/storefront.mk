# Storefront (frontend/): browser tests with Playwright driving Debian's Chromium.
# Included by the Makefile (`-include mk/*.mk`).

.PHONY: test-storefront storefront-chromium

storefront-chromium: ## Install Debian's Chromium for the browser tests (needs root)
	tools/test-deps/chromium.sh

test-storefront: $(STAMP) storefront-chromium ## Browser tests of the storefront against `visualsearch serve` (screenshots: artifacts/storefront/)
	$(BIN)/pytest -q -ra tests/storefront
