# arxivwatch as a container: `arxivwatch run` as a non-root user, its store in the /data volume.
#
#   docker build -t arxivwatch .
#   docker run --rm -v arxivwatch-data:/data arxivwatch train        # once, and after list edits
#   docker run -d --name arxivwatch -v arxivwatch-data:/data \
#       -v "$PWD/arxivwatch.toml:/config/arxivwatch.toml:ro" -e ARXIVWATCH_CONFIG=/config/arxivwatch.toml \
#       -e SLACK_BOT_TOKEN -e ARXIVWATCH_SMTP_PASSWORD arxivwatch
#
# Configuration comes from a mounted file named by ARXIVWATCH_CONFIG, or from ARXIVWATCH_<SECTION>_<KEY>
# variables; secrets only from the environment (see deploy/arxivwatch.env.example).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
# tzdata: the schedule's time zones, whatever the base image's Debian ships
RUN pip install --no-cache-dir --prefix=/install . "tzdata>=2024.1"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARXIVWATCH_STORAGE_PATH=/data/arxivwatch.db
RUN groupadd --system --gid 10001 arxivwatch \
    && useradd --system --uid 10001 --gid arxivwatch --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin arxivwatch \
    && mkdir /data && chown arxivwatch:arxivwatch /data
COPY --from=build /install /usr/local
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# Unhealthy when the last poll failed or is older than the poll schedule allows (2 h grace), no
# model loads (run `train` first), the last digest failed or one is left pending, or the feed is stuck.
HEALTHCHECK --interval=5m --timeout=30s --start-period=10m --retries=2 \
    CMD ["arxivwatch", "status", "--check"]
# exec form: arxivwatch is PID 1 and gets SIGTERM itself (it exits 0 within 10 s)
ENTRYPOINT ["arxivwatch"]
CMD ["run"]
