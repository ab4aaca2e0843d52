//! [engine] The AWS secrets engine. Placeholder until the engine lands: answers every
//! request with "unsupported path".

use std::sync::Arc;

use async_trait::async_trait;

use crate::logical::{
    Backend, BackendConfig, Error, ExistenceCheck, Factory, Request, Response, SpecialPaths,
};

struct Placeholder;

#[async_trait]
impl Backend for Placeholder {
    async fn handle_request(&self, _req: Request) -> Result<Option<Response>, Error> {
        Err(Error::UnsupportedPath)
    }
    async fn handle_existence_check(&self, _req: Request) -> Result<ExistenceCheck, Error> {
        Ok(ExistenceCheck::default())
    }
    fn special_paths(&self) -> SpecialPaths {
        SpecialPaths::default()
    }
    async fn initialize(&self) -> Result<(), Error> {
        Ok(())
    }
    async fn invalidate(&self, _key: &str) {}
    async fn cleanup(&self) {}
}

/// The factory the binary hands to the transport: builds one engine instance per mount.
pub fn factory() -> Factory {
    Arc::new(|_config: BackendConfig| {
        Box::pin(async { Ok(Arc::new(Placeholder) as Arc<dyn Backend>) })
    })
}

pub mod policy_document;
pub mod role;
pub mod username;
