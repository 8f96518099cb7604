//! `datapackage.json`: the Frictionless Data Package (v2) describing the CSV files, with a Table
//! Schema for each built from [`super::tables`].
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::tables::{Field, Resource, Table};

/// The package's name (lower case, as the specification asks).
pub const NAME: &str = "lokale-udviklingsplaner";

/// The descriptor of the package, generated at `created`.
pub fn descriptor(created: DateTime<Utc>) -> Value {
    json!({
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": NAME,
        "title": "Lokale udviklingsplaner – åbne data",
        "description": "Open data of the municipality's rural development programme: the local communities, their public development plans and actions, themes, the organisations' involvement, the departments' contributions, progress notes, partnerships, the communities' events, ideas and idea exchanges, and the published annual reviews. Only what is public: draft plans and everything under them, internal notes, contact people, the authors of progress notes and consultation responses are not included. IDs are the global IDs of the GraphQL API.",
        "descriptionDa": "Åbne data fra kommunens landdistriktsprogram: lokalsamfundene, deres offentlige udviklingsplaner og indsatser, temaer, organisationernes medvirken, forvaltningernes bidrag, statusopdateringer, partnerskaber, lokalsamfundenes aktiviteter, idéer og idéudvekslinger samt de offentliggjorte årsstatusser. Pakken indeholder kun offentlige oplysninger; planer under udarbejdelse og alt, der hører til dem, interne noter, kontaktpersoner, navnene på dem, der har skrevet statusopdateringerne, og høringssvar er ikke med. ID'erne er GraphQL-API'ets globale ID'er.",
        "language": "da",
        "licenses": [{
            "name": "CC-BY-4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Attribution 4.0",
        }],
        "created": created.to_rfc3339_opts(SecondsFormat::Secs, true),
        "resources": Table::ALL.iter().map(|t| resource(t.resource())).collect::<Vec<_>>(),
    })
}

fn resource(r: &Resource) -> Value {
    json!({
        "name": r.name,
        "type": "table",
        "path": format!("{}.csv", r.name),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": r.title,
        "description": r.description,
        "descriptionDa": r.description_da,
        "dialect": {
            "$schema": "https://datapackage.org/profiles/2.0/tabledialect.json",
            "delimiter": ",",
            "lineTerminator": "\r\n",
            "quoteChar": "\"",
            "doubleQuote": true,
            "header": true,
        },
        "schema": schema(r),
    })
}

fn schema(r: &Resource) -> Value {
    let foreign_keys: Vec<Value> = r
        .foreign_keys
        .iter()
        .map(|fk| {
            json!({
                "fields": fk.fields,
                "reference": { "resource": fk.resource, "fields": fk.reference },
            })
        })
        .collect();
    json!({
        "$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
        "fields": r.fields.iter().map(field).collect::<Vec<_>>(),
        "missingValues": [""],
        "primaryKey": r.primary_key,
        "foreignKeys": foreign_keys,
    })
}

fn field(f: &Field) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), f.name.into());
    out.insert("type".into(), f.ty.as_str().into());
    out.insert("title".into(), f.title.into());
    out.insert("description".into(), f.description.into());
    out.insert("descriptionDa".into(), f.description_da.into());
    let mut constraints = Map::new();
    if f.required {
        constraints.insert("required".into(), true.into());
    }
    if let Some(values) = f.values {
        let values = values();
        constraints.insert(
            "enum".into(),
            values
                .iter()
                .map(|(v, _)| Value::from(*v))
                .collect::<Vec<_>>()
                .into(),
        );
        // Table Schema v2's categories: each value with its Danish label.
        out.insert(
            "categories".into(),
            values
                .iter()
                .map(|(value, label)| json!({ "value": value, "label": label }))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if !constraints.is_empty() {
        out.insert("constraints".into(), constraints.into());
    }
    Value::Object(out)
}
