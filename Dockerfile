# One image for the gateway and every consumer; compose picks the command.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group app \
    && mkdir -p /var/lib/slack-fanout && chown app:app /var/lib/slack-fanout
# Consumers' dedupe ledgers; compose keeps it on a volume per consumer.
ENV CONSUMER_STATE_DIR=/var/lib/slack-fanout
WORKDIR /app

COPY pyproject.toml README.md ./
COPY slack_fanout ./slack_fanout
COPY gateway ./gateway
COPY consumers ./consumers
RUN pip install .

USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "gateway/gunicorn.conf.py", "-b", "0.0.0.0:8000"]
