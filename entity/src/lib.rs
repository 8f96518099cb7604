//! sea-orm entities, one module per table, and nothing else.

pub mod action;
pub mod action_department;
pub mod action_theme;
pub mod action_update;
pub mod app_meta;
pub mod community;
pub mod contact;
pub mod department;
pub mod engagement_event;
pub mod engagement_event_organization;
pub mod idea;
pub mod idea_exchange;
pub mod idea_exchange_action;
pub mod idea_exchange_participant;
pub mod idea_theme;
pub mod organization;
pub mod partnership;
pub mod partnership_member;
pub mod plan;
pub mod plan_involvement;
pub mod plan_theme;
pub mod theme;
