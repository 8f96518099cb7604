//! `enumLabels`: the Danish labels of every enum of the schema, gathered from the domain
//! modules (which declare them with `labels::labelled_enum!`); only the schema uses it.
use async_graphql::Object;

use crate::labels::{EnumLabels, Labelled};

fn all() -> Vec<EnumLabels> {
    use crate::{action, community, engagement, idea, organization, partnership, plan};
    vec![
        community::CommunityStatus::labels(),
        organization::OrganizationKind::labels(),
        plan::PlanStatus::labels(),
        plan::InvolvementRole::labels(),
        crate::consultation::ConsultationResponseStatus::labels(),
        engagement::EventKind::labels(),
        engagement::figures::EngagementComponentKey::labels(),
        crate::priority::PriorityComponentKey::labels(),
        action::Horizon::labels(),
        action::ActionStatus::labels(),
        action::DepartmentRole::labels(),
        partnership::PartnershipStatus::labels(),
        partnership::MemberRole::labels(),
        partnership::ContributionKind::labels(),
        idea::ExchangeKind::labels(),
        crate::common::OrderDirection::labels(),
        community::CommunityOrderField::labels(),
        plan::PlanOrderField::labels(),
        action::ActionOrderField::labels(),
        organization::OrganizationOrderField::labels(),
        crate::auth::Role::labels(),
        crate::account::AccountRole::labels(),
        crate::account::ApiKeyScope::labels(),
        crate::write::UserErrorCode::labels(),
        crate::review::AnnualReviewStatus::labels(),
        crate::search::SearchType::labels(),
        crate::changes::ChangeType::labels(),
        crate::changes::ChangeKind::labels(),
    ]
}

#[derive(Default)]
pub struct LabelQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl LabelQuery {
    /// Danish labels for the values of this schema's enums; all enums when `names` is omitted.
    async fn enum_labels(&self, names: Option<Vec<String>>) -> Vec<EnumLabels> {
        all()
            .into_iter()
            .filter(|e| names.as_ref().is_none_or(|n| n.iter().any(|n| n == e.name)))
            .collect()
    }
}
