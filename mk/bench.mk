# Benchmarks (bench/): embedding, search latency, indexing and vector search, each against its
# baseline in one run. Included by the Makefile (`-include mk/*.mk`).

.PHONY: bench bench-quick

bench: $(STAMP) ## Run the benchmarks (a few minutes) and write bench/RESULTS.md
	$(BIN)/python -m bench

bench-quick: $(STAMP) ## Smaller benchmark run (prints only; ARGS="--output FILE" to keep it)
	$(BIN)/python -m bench --quick $(ARGS)
