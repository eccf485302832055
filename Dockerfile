# naftiko-runtime: serve Naftiko capability files. Multi-stage: wheels are built in the first stage, the
# second has only the installed runtime (with tracing) and runs as a non-root user.
#
#   docker build -t naftiko-runtime .
#   docker run --rm -p 8080:8080 -p 9090:9090 -p 9091:9091 naftiko-runtime          # the baked-in capabilities
#   docker run --rm -v "$PWD/capabilities:/capabilities:ro" ... naftiko-runtime     # or mount your own
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[otel]"

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin naftiko
COPY --from=build /wheels /wheels
# the versions are those of the wheels built above (--no-index): nothing to pin here
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-index --find-links /wheels "naftiko-runtime[otel]" && rm -rf /wheels
COPY capabilities /capabilities
USER 10001
# REST, MCP and the control adapter of capabilities/durable-workflow.yaml
EXPOSE 8080 9090 9091
# the control adapter's readiness; `naftiko health` exits 0 only when every adapter is up
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["naftiko", "health", "--url", "http://127.0.0.1:9091"]
ENTRYPOINT ["naftiko", "serve", "--host", "0.0.0.0", "--log-format", "json"]
CMD ["/capabilities"]
