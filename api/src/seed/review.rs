//! A published annual review of last year in the demo, so `annualReview`, the year-over-year
//! comparison and `/reports/annual/{year}` have something to show on a fresh start. It is made
//! through the same mutations staff use (checked and audited as `system:demo`).
use async_graphql::{Request, Variables};
use chrono::Datelike;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::{access::Access, auth::Viewer, loader::Loaders};

use super::SeedError;

const DIRECTION: &str = "Udvalget vil i det kommende år styrke de langsigtede indsatser for \
bosætning og natur og hjælpe flere lokalsamfund i gang med partnerskaber med lokale \
virksomheder og fonde. De små lokalsamfund skal have let adgang til rådgivning, når de \
søger puljer.\n\nUdvalget ønsker en god balance mellem de langsigtede indsatser og dem, der gør \
en forskel her og nu.";

/// The committee's remarks on a few communities, by slug.
const REMARKS: &[(&str, &str)] = &[
    (
        "gjoel",
        "Stort lokalt engagement omkring havnen og fællesarealerne. Udvalget følger arbejdet \
         med havnebadet og opfordrer til at søge medfinansiering fra fonde.",
    ),
    (
        "birkelse",
        "Godt i gang med planens første indsatser. Udvalget vil gerne se flere af byens \
         foreninger inddraget i arbejdet.",
    ),
    (
        "tranum",
        "Et lille lokalsamfund med mange frivillige timer. Naturprojekterne er et godt \
         eksempel for andre.",
    ),
];

/// Creates and publishes the review of last year; a failure is only logged: the demo works
/// without it.
pub async fn load(db: &DatabaseConnection) {
    if let Err(e) = publish_last_year(db).await {
        tracing::warn!(error = %e, "the demo annual review was not created");
    }
}

async fn publish_last_year(db: &DatabaseConnection) -> Result<(), SeedError> {
    let year = crate::common::today().year() - 1;
    let schema = crate::schema::build(Some(db.clone()), None, None);
    let reads = crate::loader::Reads::new(std::time::Duration::ZERO, true);
    let run = |query: &'static str, variables: Value| {
        let access = Access::everything();
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(Loaders::for_request(db.clone(), access.clone(), &reads))
            .data(access)
            .data(Viewer::system("demo"));
        let schema = schema.clone();
        async move {
            let response = schema.execute(request).await;
            if !response.errors.is_empty() {
                return Err(failed(format!("{:?}", response.errors)));
            }
            let data = response.data.into_json().map_err(SeedError::Parse)?;
            // Payload refusals are not GraphQL errors: look for them too.
            if let Some(errors) = data
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|p| p.get("userErrors"))
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            {
                return Err(failed(format!("{errors:?}")));
            }
            Ok(data)
        }
    };

    let created = run(
        "mutation($i: CreateAnnualReviewInput!) { createAnnualReview(input: $i) {
           annualReview { id version entries(first: 100) { nodes { id version community { id slug } } } }
           userErrors { field message } } }",
        json!({ "i": { "year": year } }),
    )
    .await?;
    let review = &created["createAnnualReview"]["annualReview"];
    let id = review["id"].clone();

    let themes = run("{ themes(first: 100) { nodes { id slug } } }", json!({})).await?;
    let theme_ids: Vec<Value> = themes["themes"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["slug"] == "bosaetning" || t["slug"] == "natur-og-friluftsliv")
        .map(|t| t["id"].clone())
        .collect();

    for entry in review["entries"]["nodes"].as_array().into_iter().flatten() {
        let slug = entry["community"]["slug"].as_str().unwrap_or_default();
        if let Some((_, remarks)) = REMARKS.iter().find(|(s, _)| *s == slug) {
            run(
                "mutation($i: UpdateAnnualReviewEntryInput!) { updateAnnualReviewEntry(input: $i) {
                   userErrors { field message } } }",
                json!({ "i": { "id": entry["id"], "version": entry["version"], "remarks": remarks } }),
            )
            .await?;
        }
    }
    let focus: Vec<Value> = review["entries"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| ["tranum", "birkelse"].contains(&e["community"]["slug"].as_str().unwrap_or_default()))
        .map(|e| e["community"]["id"].clone())
        .collect();
    let updated = run(
        "mutation($i: UpdateAnnualReviewInput!) { updateAnnualReview(input: $i) {
           annualReview { version } userErrors { field message } } }",
        json!({ "i": {
            "id": id, "version": review["version"], "direction": DIRECTION,
            "wantedLongTermShare": 50, "focusThemeIds": theme_ids, "focusCommunityIds": focus,
        } }),
    )
    .await?;
    run(
        "mutation($i: PublishAnnualReviewInput!) { publishAnnualReview(input: $i) {
           userErrors { field message } } }",
        json!({ "i": { "id": id, "version": updated["updateAnnualReview"]["annualReview"]["version"] } }),
    )
    .await?;
    tracing::info!(year, "demo: published the annual review of last year");
    Ok(())
}

fn failed(why: String) -> SeedError {
    SeedError::Db(sea_orm::DbErr::Custom(format!("demo annual review: {why}")))
}
