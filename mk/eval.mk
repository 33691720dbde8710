# Search quality (visualsearch eval): Recall@K, MRR and nDCG@10 per kind of query over the demo
# catalogue. Included by the Makefile (`-include mk/*.mk`). docs/search-quality.md explains it.

.PHONY: eval

eval: $(STAMP) ## Search quality over the demo catalogue, per kind of query (ARGS="--limit 48 --output FILE")
	OPENBLAS_NUM_THREADS=1 $(BIN)/visualsearch eval $(ARGS)

.PHONY: eval-results

eval-results: $(STAMP) ## Search quality over the whole demo catalogue into bench/RESULTS.md (~3 min)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m bench.quality $(ARGS)

.PHONY: int8-model

int8-model: $(STAMP) ## Quantise the image tower to int8 and judge its Recall@10 against fp32 into the model cache (minutes; the image build runs it)
	OPENBLAS_NUM_THREADS=1 $(BIN)/visualsearch model quantize $(ARGS)
