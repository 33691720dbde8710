# syntax=docker/dockerfile:1
# The visual-search services image: one image, entry point `visualsearch` (api, embedder, worker,
# seed, migrate, doctor, serve). CPU torch by default; for NVIDIA GPUs build with
#   --build-arg TORCH_VARIANT=cu124   (torch's CUDA wheels bundle the CUDA runtime)
# An empty TORCH_INDEX_URL installs torch from the default package index instead.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

# ---- build: a virtual environment with the project and its dependencies -------------------------
FROM ${PYTHON_IMAGE} AS build
# Optional pip settings for mirrors, proxies and local wheel folders (build time only, never
# secrets): pip reads them from the environment.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT
ARG TORCH_VERSION=2.13.0
ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from the index of the chosen variant, so the project's pin finds it installed.
RUN if [ -n "${TORCH_INDEX_URL}" ]; then \
        pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"; \
    else \
        pip install "torch==${TORCH_VERSION}"; \
    fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services/ services/
COPY operator/ operator/
RUN pip install . \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# ---- models: the image tower in ONNX, its int8 model and the recall gate's verdict --------------
# `visualsearch model quantize` exports EfficientNet-Lite0 (the model whose weights ship) to ONNX,
# quantises it to static int8 and judges it on the quality harness's queries (Recall@10 within
# 0.01 of fp32), here, once, so that no pod start pays for it (minutes on 2 cores): a start only
# reads the verdict (docs/search-quality.md, "int8"). Same venv as the runtime, so the model's
# fingerprint (weights, torch and ONNX Runtime versions) matches at start. The harness's photo
# queries need scikit-image, installed in this stage only. --build-arg INT8_MODEL=no skips it
# (the image then runs fp32 and says why in its log).
FROM build AS models
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT
ARG INT8_MODEL=yes
RUN mkdir -p /opt/visualsearch/onnx \
    && if [ "${INT8_MODEL}" = "yes" ]; then \
        pip install "scikit-image>=0.22" \
        && visualsearch model quantize --model efficientnet-lite0 \
               --output /opt/visualsearch/onnx; \
    fi

# ---- runtime: the venv, the storefront files and a non-root user --------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
LABEL org.opencontainers.image.title="visual-search" \
      org.opencontainers.image.description="Visual product search: API, embedder, worker, CLI" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid "${UID}" visualsearch \
    && useradd --uid "${UID}" --gid "${UID}" --home-dir /home/visualsearch \
       --create-home --shell /usr/sbin/nologin visualsearch
COPY --from=build /opt/venv /opt/venv
COPY --from=models /opt/visualsearch/onnx /opt/visualsearch/onnx
COPY frontend/ /opt/visualsearch/frontend/
ENV PATH=/opt/venv/bin:$PATH \
    VISUALSEARCH_PREBUILT_ONNX_DIR=/opt/visualsearch/onnx \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/visualsearch \
    VISUALSEARCH_FRONTEND_DIR=/opt/visualsearch/frontend \
    VISUALSEARCH_LOG_FORMAT=json
USER ${UID}:${UID}
WORKDIR /home/visualsearch
EXPOSE 8000 8001
ENTRYPOINT ["visualsearch"]
CMD ["api"]
