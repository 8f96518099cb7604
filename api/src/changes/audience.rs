//! Who may see a row ([`super::Audience`]), computed with the same visibility rules as every
//! read (`Guarded::visible` of `crate::write`, built on `crate::access`).
