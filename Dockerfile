# One image holds every binary; compose picks the command per container.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
      -p food-menu -p food-order -p food-delivery -p food-gateway -p food-stack -p foodctl \
 && mkdir /out \
 && cp target/release/menu-service target/release/order-service target/release/delivery-service \
       target/release/gateway target/release/food-stack target/release/foodctl /out/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 food
COPY --from=build /out/ /usr/local/bin/
USER food
