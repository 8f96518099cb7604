//! Integration tests: the real server over HTTP, on SQLite and PostgreSQL.
mod nplus1;
mod ops;
mod website;
