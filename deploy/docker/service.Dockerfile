# One image recipe for the three services; docker-compose.yml picks the package and app.
# Build from the repository root: docker build -f deploy/docker/service.Dockerfile --build-arg PACKAGE=tenderwire-notices .
FROM python:3.11-slim

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

ARG PACKAGE
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH"
WORKDIR /app
COPY . .
RUN uv sync --frozen --no-dev --package "${PACKAGE}"

RUN useradd --system --uid 10001 tenderwire
USER tenderwire

ARG APP
ENV APP=${APP}
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn --factory \"$APP\" --host 0.0.0.0 --port 8000 --no-access-log"]
