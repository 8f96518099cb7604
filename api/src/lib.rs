//! LUP: a GraphQL API for a municipality's rural development programme built on local
//! development plans. Shared plumbing at the top level; one module per part of the domain.

// The merged query root nests one type per room; its resolver's layout needs more than 128.
#![recursion_limit = "256"]

pub mod bounds;
pub mod broadcast;
pub mod cache;
pub mod changes;
pub mod cli;
pub mod command;
pub mod config;
pub mod db;
pub mod documents;
pub mod error;
pub mod http;
pub mod limit;
pub mod schema;
pub mod search;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod webhook;

mod about;
mod access;
mod account;
mod audit;
pub mod auth;
mod collation;
mod common;
mod compiled;
mod label_query;
mod labels;
mod links;
mod loader;
mod lower;
mod node;
mod pagination;
mod relay;
mod write;

mod action;
mod community;
mod consultation;
mod contact;
mod department;
mod engagement;
mod explorer;
mod geo;
mod idea;
pub mod opendata;
mod organization;
mod partnership;
mod plan;
mod priority;
pub mod report;

/// Erases the personal data of responses to consultations past their retention period, as the
/// server does every hour (for the tests, with a chosen day).
pub use consultation::privacy::erase_expired as erase_expired_personal_data;
/// Archives the plans replaced by successors whose period has begun, as the server does every
/// hour (for the tests, with a chosen year).
pub use plan::mutation::hand_over as hand_over_plans;
mod review;
mod theme;
