# anystab in a container:
#   docker build -t anystab . && docker run --rm -v "$PWD:/work" anystab analyze /work/data --service /work/data/service.toml
# With libbgpstream for `analyze --source bgpstream`:
#   docker build --target bgpstream -t anystab:bgpstream .

# Build the wheel with a compiler, so the compiled pre-filter core is in it.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY anystab ./anystab
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim AS base
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/anystab-*.whl)[report,live]" && rm -rf /wheels
WORKDIR /work
ENTRYPOINT ["anystab"]
CMD ["--help"]

# libbgpstream (a C library pip cannot install) comes from CAIDA's Debian package repository; its bootstrap
# script adds that repository and the libwandio one it needs. pybgpstream is compiled against it.
FROM base AS bgpstream
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates gnupg lsb-release apt-transport-https \
    && curl -fsSL "https://pkg.caida.org/os/$(lsb_release -si | awk '{print tolower($0)}')/bootstrap.sh" | bash \
    && apt-get install -y --no-install-recommends bgpstream gcc libc6-dev \
    && pip install --no-cache-dir "pybgpstream>=2.0" \
    && rm -rf /var/lib/apt/lists/* \
    && python -c "import pybgpstream"

# The default target stays the plain image.
FROM base
