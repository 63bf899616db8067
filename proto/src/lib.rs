//! Generated gRPC and protobuf code for the food platform.
//!
//! The `.proto` files under `proto/` are the source of truth; `build.rs`
//! compiles them with protox (no system `protoc`). Field names match the JSON
//! names of the gateway API, statuses are enums. The tonic clients and
//! servers are generated only with the `client` and `server` features.

#![allow(clippy::all, unreachable_pub, rust_2018_idioms)]

pub mod common {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/food.common.v1.rs"));
    }
}
pub mod menu {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/food.menu.v1.rs"));
    }
}
pub mod order {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/food.order.v1.rs"));
    }
}
pub mod delivery {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/food.delivery.v1.rs"));
    }
}
pub mod events {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/food.events.v1.rs"));
    }
}

/// Encoded `FileDescriptorSet` of every food proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/food_descriptor.bin"));

pub use prost_types::Timestamp;
