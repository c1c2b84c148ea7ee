FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gateway
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY workers ./workers
COPY fakeplatform ./fakeplatform
COPY migrations ./migrations
# Editable, so the Alembic migrations in /app/migrations sit beside the package.
RUN pip install --no-cache-dir -e .
USER gateway
ENV GATEWAY_ENV=production GATEWAY_INSTANCE_PATH=/home/gateway/instance
EXPOSE 8000
CMD ["gateway", "web", "--host", "0.0.0.0", "--port", "8000"]
