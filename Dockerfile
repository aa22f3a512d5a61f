# One image for the gateway and every consumer; compose.yaml picks each service's command.
# PYTHON_IMAGE: another Python 3.11 base in its place (CI builds one from Debian's packages).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group app \
    && mkdir -p /var/lib/slack-fanout && chown app:app /var/lib/slack-fanout
# Consumers' dedupe ledgers; compose keeps it on a volume per consumer.
ENV CONSUMER_STATE_DIR=/var/lib/slack-fanout
WORKDIR /app

# The runtime dependencies first, in a layer of their own, so that a code change does not
# reinstall them. No extras: the test tools stay out of the image.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY slack_fanout ./slack_fanout
COPY gateway ./gateway
COPY consumers ./consumers
RUN pip install --no-deps . && pip check

USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "gateway/gunicorn.conf.py", "-b", "0.0.0.0:8000"]
