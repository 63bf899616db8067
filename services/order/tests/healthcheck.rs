//! `order-service healthcheck` without a server to ask; the serving answer is
//! checked where the whole platform runs (tests/compose, which runs every
//! compose healthcheck as written).

#[tokio::test]
async fn healthcheck_refuses_without_a_server_and_names_a_bad_setting() {
    food_kit::testing::healthcheck_refuses_without_a_server(
        env!("CARGO_BIN_EXE_order-service"),
        "order-service",
        "FOOD_ORDER__LISTEN",
    )
    .await;
}
