# anystab in a container: docker build -t anystab . && docker run --rm -v "$PWD:/work" anystab analyze /work/data ...
FROM python:3.11-slim AS base
WORKDIR /app
COPY pyproject.toml README.md ./
COPY anystab ./anystab
RUN pip install --no-cache-dir ".[report,live]"
WORKDIR /work
ENTRYPOINT ["anystab"]
CMD ["--help"]

# With libbgpstream for `analyze --source bgpstream`: docker build --target bgpstream -t anystab:bgpstream .
# libbgpstream (a C library pip cannot install) comes from CAIDA's Debian package repository; its bootstrap
# script adds that repository and the libwandio one it needs. pybgpstream is compiled against it.
FROM base AS bgpstream
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates gnupg lsb-release apt-transport-https \
    && curl -fsSL "https://pkg.caida.org/os/$(lsb_release -si | awk '{print tolower($0)}')/bootstrap.sh" | bash \
    && apt-get install -y --no-install-recommends bgpstream gcc libc6-dev \
    && pip install --no-cache-dir "/app[bgpstream]" \
    && rm -rf /var/lib/apt/lists/* \
    && python -c "import pybgpstream"

# The default target stays the plain image.
FROM base
