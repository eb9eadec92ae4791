# Pantry's image: one image for every process (web, worker, beat, the migrate release step).
# Build:  docker build -t pantry .
# Run:    see compose.yaml and docs/deploy.md. No secret is baked in: every one comes from the
#         environment at run time.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt constraints.txt /tmp/
RUN pip install -r /tmp/requirements.txt -c /tmp/constraints.txt

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PANTRY_ENV=production \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/pantry-metrics
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin pantry
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
# Static files are collected (hashed, compressed) into the image; WhiteNoise serves them.
# Placeholders, not secrets: collectstatic only needs settings to load, and nothing here is kept.
RUN SECRET_KEY=collectstatic-placeholder-not-a-secret ALLOWED_HOSTS=build DEBUG=false \
    DATABASE_URL=postgresql://build@localhost/build CELERY_BROKER_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0 \
 && python -m compileall -q portal catalog identity sharing usage
USER pantry
EXPOSE 8000
# Liveness only: readiness (/readyz) also needs the database and the broker, which the orchestrator probes.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/livez', timeout=2)"
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
