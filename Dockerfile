# trainaudit: the audit, the nightly job and Dask workers all run from this image.
#   docker build -t trainaudit .
#   docker run --rm -v /archive:/archive:ro -v /data/audit:/out trainaudit audit /archive --out /out
#   docker run --rm -v /archive:/archive:ro -v /data/audit:/out trainaudit nightly /archive --out /out
#   docker run --rm --network host --entrypoint dask trainaudit scheduler            # or: dask worker HOST:8786
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH="/app/.venv/bin:$PATH"

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg make \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir "uv>=0.5"

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra dask --no-install-project
COPY pipeline ./pipeline
COPY configs ./configs
COPY sample_data ./sample_data
RUN uv sync --frozen --no-dev --extra dask

# The archive is read-only input; outputs, evidence and the face cache (biometric data) go to /out.
VOLUME ["/out"]
ENTRYPOINT ["trainaudit"]
CMD ["--help"]
