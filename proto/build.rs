//! Generates the gRPC code from `proto/` with protox, so no system `protoc` is needed.

use std::{env, error::Error, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "food/common/v1/common.proto",
    "food/menu/v1/menu.proto",
    "food/order/v1/order.proto",
    "food/delivery/v1/delivery.proto",
    "food/events/v1/events.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // The descriptor set feeds gRPC server reflection.
    fs::write(out.join("food_descriptor.bin"), fds.encode_to_vec())?;
    // Cargo tells a build script its crate's features through the environment.
    let client = env::var_os("CARGO_FEATURE_CLIENT").is_some();
    let server = env::var_os("CARGO_FEATURE_SERVER").is_some();
    tonic_prost_build::configure()
        .build_client(client)
        .build_server(server)
        .compile_fds(fds)?;
    Ok(())
}
