# Search quality (visualsearch eval): Recall@K, MRR and nDCG@10 per kind of query over the demo
# catalogue. Included by the Makefile (`-include mk/*.mk`). docs/search-quality.md explains it.

.PHONY: eval

eval: $(STAMP) ## Search quality over the demo catalogue, per kind of query (ARGS="--limit 48 --output FILE")
	OPENBLAS_NUM_THREADS=1 $(BIN)/visualsearch eval $(ARGS)
