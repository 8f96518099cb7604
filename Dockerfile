# The LUP API as a small image: build with the Rust toolchain, run on Debian slim.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin lup

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app lup \
    && mkdir -p /app/data && chown lup /app/data
WORKDIR /app
# The default SQLite database (data/lup.db) lives here; PostgreSQL deployments leave it empty.
VOLUME /app/data
COPY --from=build /src/target/release/lup /usr/local/bin/lup
USER lup
ENV BIND_ADDR=0.0.0.0:8080 LOG_FORMAT=json APP_ENV=production
EXPOSE 8080
# Longer than DB_ACQUIRE_TIMEOUT_MS (5 s): /readyz waits for a pooled connection that long.
HEALTHCHECK --interval=10s --timeout=6s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["lup"]
CMD ["serve"]
