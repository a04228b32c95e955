# The StateAsset service image: the app and its migrations; PostgreSQL comes from compose.yaml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PICCOLO_CONF=stateasset.piccolo_conf \
    STATEASSET_ENVIRONMENT=production STATEASSET_LOG_JSON=true
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY piccolo_migrations ./piccolo_migrations
RUN pip install --no-cache-dir -e . && useradd --system --home /app stateasset
USER stateasset
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready')"
# The server only; migrations run before it as the owner (`stateasset migrate` with DATABASE_URL,
# the `migrate` service of compose.yaml), so the server's environment never holds the owner's URL.
CMD ["stateasset", "serve", "--host", "0.0.0.0", "--port", "8000"]
