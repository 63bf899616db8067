//! The gateway as foodctl calls it: `food_client`'s client, with responses
//! kept as [`Doc`]s in the gateway's field order, so `-o json` prints what
//! the gateway sent; tables decode the typed `food_api` shapes from them.

use food_client::{ApiError, Client, EventStream, gateway::truncate};
use serde::{Serialize, de::DeserializeOwned};

use crate::doc::Doc;

/// The gateway client of one run.
#[derive(Clone, Debug)]
pub struct Gateway(Client);

impl Gateway {
    pub fn new(client: Client) -> Self {
        Self(client)
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Doc, ApiError> {
        parse(&format!("GET {path}"), &self.0.get_raw(path, query).await?)
    }

    pub async fn post<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Doc, ApiError> {
        let raw = self.0.post_raw(path, body, headers).await?;
        parse(&format!("POST {path}"), &raw)
    }

    pub async fn put<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Doc, ApiError> {
        let raw = self.0.put_raw(path, body, headers).await?;
        parse(&format!("PUT {path}"), &raw)
    }

    pub async fn patch<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Doc, ApiError> {
        let raw = self.0.patch_raw(path, body, headers).await?;
        parse(&format!("PATCH {path}"), &raw)
    }

    /// Opens a Server-Sent Events stream; no timeout once it is open.
    pub async fn stream(
        &self,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Result<EventStream, ApiError> {
        self.0.stream(path, last_event_id).await
    }
}

fn parse(what: &str, raw: &[u8]) -> Result<Doc, ApiError> {
    Doc::parse(raw).map_err(|e| ApiError::Protocol(format!("{what}: {e}")))
}

/// Decodes a typed shape out of a response kept as a document.
pub fn typed<T: DeserializeOwned>(doc: &Doc) -> Result<T, ApiError> {
    doc.typed().map_err(|e| {
        let text = doc.to_json().unwrap_or_default();
        ApiError::Protocol(format!("{e} in {}", truncate(&text, 200)))
    })
}
