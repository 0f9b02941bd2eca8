# anystab in a container: docker build -t anystab . && docker run --rm -v "$PWD:/work" anystab analyze /work/data ...
FROM python:3.11-slim AS base
WORKDIR /app
COPY pyproject.toml README.md ./
COPY anystab ./anystab
RUN pip install --no-cache-dir .
WORKDIR /work
ENTRYPOINT ["anystab"]
CMD ["--help"]
