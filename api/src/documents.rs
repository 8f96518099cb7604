//! Trusted documents: the queries of our own clients (the website's, e.g.
//! `tests/queries/*.graphql`), registered at start-up from a folder and sent by id instead of
//! text. An id is `sha256:` and the SHA-256 of the document's text, so a client computes it
//! from the same file. Requests name one by `documentId` (GraphQL over HTTP) or by Apollo's
//! `extensions.persistedQuery.sha256Hash`. With `TRUSTED_DOCUMENTS_ONLY_FOR_ANONYMOUS`,
//! anonymous callers may run nothing else. Each is prepared (parsed) when it is loaded.
use std::{collections::HashMap, path::Path, sync::Arc};

use crate::{
    auth::secret::sha256_hex,
    http::prepared::{Parsed, Prepared},
};

/// A trusted document: its text, and the text prepared.
pub struct Document {
    pub text: Arc<str>,
    pub prepared: Parsed,
}

#[derive(Clone, Default)]
pub struct TrustedDocuments {
    by_id: Arc<HashMap<String, Document>>,
    /// Anonymous callers must send a trusted document's id.
    pub only_for_anonymous: bool,
}

impl TrustedDocuments {
    /// Every `*.graphql` file of `dir`.
    pub fn load(dir: Option<&Path>, only_for_anonymous: bool) -> std::io::Result<Self> {
        use std::io::{Error, ErrorKind};
        let mut by_id = HashMap::new();
        if only_for_anonymous && dir.is_none() {
            // Every anonymous request would be refused: the website could not load a page.
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "TRUSTED_DOCUMENTS_ONLY_FOR_ANONYMOUS is set but no folder of trusted documents is",
            ));
        }
        if let Some(dir) = dir {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "graphql") {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                    let id = format!("sha256:{}", sha256_hex(&text));
                    tracing::info!(document = %path.display(), %id, "trusted document");
                    let prepared = Prepared::parse(&text);
                    if let Err(e) = &prepared {
                        // A website shipped with it would fail on every page that uses it.
                        return Err(Error::new(
                            ErrorKind::InvalidData,
                            format!("{} does not parse: {}", path.display(), e.message),
                        ));
                    }
                    by_id.insert(
                        id,
                        Document {
                            text: Arc::from(text),
                            prepared,
                        },
                    );
                }
            }
        }
        Ok(TrustedDocuments {
            by_id: Arc::new(by_id),
            only_for_anonymous,
        })
    }

    /// The document `id` (`sha256:<hex>`, or the bare hex of a persisted query).
    pub fn get(&self, id: &str) -> Option<&Document> {
        // The prefix and the hex in any case (`SHA256:ABC…` as some tools write it).
        let id = id.to_ascii_lowercase();
        let id = if id.starts_with("sha256:") {
            id
        } else {
            format!("sha256:{id}")
        };
        self.by_id.get(&id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
