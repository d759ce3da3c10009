# A GPU image for the bot. Build: docker compose build; run: docker compose up -d (see README).
# PyTorch wheels from PyPI bundle their CUDA libraries; the CUDA runtime base brings the rest of
# the userland NVIDIA's container toolkit expects.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first (cached layer), then the code.
# EXTRAS=ray adds Ray Serve (docker-compose.ray.yml builds with it).
ARG EXTRAS=""
WORKDIR /app
COPY pyproject.toml README.md ./
RUN python3 -m venv /opt/venv \
    && mkdir -p bot && touch bot/__init__.py \
    && /opt/venv/bin/pip install ".${EXTRAS:+[$EXTRAS]}" \
    && /opt/venv/bin/pip uninstall -y mj-discord-bot \
    && rm -rf bot
COPY bot ./bot
RUN /opt/venv/bin/pip install --no-deps .

# Ubuntu 24.04 images already have a uid 1000 user ("ubuntu"); take that uid over so files in
# bind-mounted ./data and ./models belong to the usual first host user.
RUN userdel --remove ubuntu 2>/dev/null || true \
    && useradd --create-home --uid 1000 --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data /app/models \
    && chown -R bot:bot /app/data /app/models

ENV PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/app/data \
    MODELS_DIR=/app/models \
    HF_HOME=/app/models/huggingface \
    DEVICE=cuda \
    WEB_HOST=0.0.0.0

USER bot
VOLUME ["/app/models", "/app/data"]
# SIGTERM lets the running job finish (SHUTDOWN_GRACE) and keeps the queue for the next start.
STOPSIGNAL SIGTERM
# The web app (WEB_PORT); publish it on the host's loopback and put a reverse proxy in front.
EXPOSE 8080
CMD ["python", "-m", "bot", "run"]
