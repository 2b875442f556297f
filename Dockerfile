# Production image: gunicorn for web, the same image for the Celery worker and beat.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=spm.settings.production
WORKDIR /app

ENV PYTHONPATH=/app
COPY . .
RUN pip install --no-cache-dir -e .
# collectstatic needs settings to import; these values exist only for the build step.
RUN SECRET_KEY=build-only-$(python -c "import secrets; print(secrets.token_hex(32))") \
    DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 spm && chown -R spm /app
USER spm
EXPOSE 8000
# The control socket's default is under $HOME, which the system user has none of.
CMD ["gunicorn", "spm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--control-socket", "/tmp/gunicorn.ctl", "--access-logfile", "-"]
