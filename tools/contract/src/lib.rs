//! The public contract as files that tools nobody here wrote read
//! (docs/api): the OpenAPI document the gateway serves at `/openapi.json`,
//! the GraphQL SDL, and the Postman collection generated from both.
//!
//! `cargo run -p food-contract -- export` writes them; the `drift` test
//! fails when a file in docs/api differs from what the code generates.

use std::path::{Path, PathBuf};

pub mod postman;

/// `docs/api` in the repository.
pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api")
}

/// The OpenAPI document exactly as the gateway serves it, pretty-printed.
pub fn openapi_json() -> String {
    let doc = serde_json::to_value(food_gateway::openapi::document_value())
        .expect("the OpenAPI document serialises");
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON serialises");
    text.push('\n');
    text
}

/// The GraphQL schema in SDL.
pub fn schema_graphql() -> String {
    food_gateway::graphql::sdl()
}

/// Each exported file: its name in docs/api and its content.
pub fn files() -> Vec<(&'static str, String)> {
    vec![
        ("openapi.json", openapi_json()),
        ("schema.graphql", schema_graphql()),
        (
            "food-delivery.postman_collection.json",
            postman::collection(),
        ),
    ]
}
