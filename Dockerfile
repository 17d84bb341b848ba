# The production image: the pinned dependency set, then the app. Configured only through PPDB_* variables.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir uv==0.13.9 && uv pip install --system --no-cache -r requirements.lock
COPY ppdb ./ppdb
COPY migrations ./migrations
RUN uv pip install --system --no-cache --no-deps -e .
EXPOSE 8000
CMD ["ppdb", "serve"]
