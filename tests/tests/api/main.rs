//! Integration tests: the real server over HTTP, on SQLite and PostgreSQL.
mod bad_input;
mod cache;
mod danish;
mod drafts;
mod filters;
mod labels;
mod nodes;
mod nplus1;
mod ops;
mod pagination;
mod support;
mod website;
