# The production image: the pinned dependency set, then the app. Configured only through PPDB_* variables.
# Front-end assets for the pages (htmx, Leaflet, Chart.js), pinned by ppdb/web/package-lock.json.
FROM node:20-slim AS assets
WORKDIR /web
COPY ppdb/web/package.json ppdb/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir uv==0.13.9 && uv pip install --system --no-cache -r requirements.lock
COPY ppdb ./ppdb
COPY --from=assets /web/node_modules ./ppdb/web/node_modules
COPY migrations ./migrations
RUN uv pip install --system --no-cache --no-deps -e .
EXPOSE 8000
CMD ["ppdb", "serve"]
