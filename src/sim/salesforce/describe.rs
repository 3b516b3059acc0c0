//! `sobjects/{Type}/describe`: each field's name, type and whether a client may set it, and a
//! picklist's values, with the Campaign `Type` picklist restricted when the org restricts it
//! (`POST /__sim/picklists/campaign-type`). A new org's standard values otherwise.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::org::Org;
use super::rest::{check_version, sobject};
use super::schema::{FieldType, Kind};
use super::state::{Shared, lock};

/// A new org's Campaign `Type` values; an open picklist, so any other value is stored too.
const CAMPAIGN_TYPES: &[&str] = &[
    "Conference",
    "Webinar",
    "Trade Show",
    "Public Relations",
    "Partners",
    "Referral Program",
    "Advertisement",
    "Banner Ads",
    "Direct Mail",
    "Email",
    "Telemarketing",
    "Other",
];

pub async fn describe(
    State(shared): State<Arc<Shared>>,
    Path((version, kind)): Path<(String, String)>,
) -> Response {
    let kind = match check_version(&shared, &version).and_then(|()| sobject(&kind)) {
        Ok(kind) => kind,
        Err(error) => return error.into_response(),
    };
    Json(describe_kind(&lock(&shared.org), kind, &version)).into_response()
}

fn describe_kind(org: &Org, kind: Kind, version: &str) -> Value {
    let name = kind.name();
    let fields: Vec<Value> = kind.readable().map(|f| field(org, kind, f)).collect();
    json!({
        "name": name,
        "label": words(name),
        "labelPlural": format!("{}s", words(name)),
        "keyPrefix": kind.prefix(),
        "custom": false,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "fields": fields,
        "urls": {
            "sobject": format!("/services/data/{version}/sobjects/{name}"),
            "describe": format!("/services/data/{version}/sobjects/{name}/describe"),
        },
    })
}

fn field(org: &Org, kind: Kind, name: &str) -> Value {
    let createable = kind.creatable().contains(&name);
    let updateable = kind.updatable().any(|f| f == name);
    let (values, restricted) = picklist(org, kind, name);
    json!({
        "name": name,
        "label": words(name),
        "type": type_name(kind, name, createable),
        "createable": createable,
        "updateable": updateable,
        "nillable": createable && !kind.required().contains(&name),
        "restrictedPicklist": restricted,
        "picklistValues": values.iter().map(|value| json!({
            "active": true,
            "defaultValue": false,
            "label": value,
            "validFor": null,
            "value": value,
        })).collect::<Vec<_>>(),
    })
}

/// The describe's `type` of a field.
fn type_name(kind: Kind, name: &str, createable: bool) -> &'static str {
    match name {
        "Id" => "id",
        "IsDeleted" | "IsConverted" | "HasResponded" => "boolean",
        "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => "datetime",
        "Email" => "email",
        "Phone" => "phone",
        "ConvertedContactId" | "LeadOrContactId" => "reference",
        "NumberOfLeads" | "NumberOfContacts" | "NumberOfResponses" => "int",
        "FirstRespondedDate" => "date",
        _ if createable => match kind.field_type(name) {
            FieldType::Text(text) => text,
            FieldType::Boolean => "boolean",
            FieldType::Currency => "currency",
            FieldType::Int => "int",
            FieldType::Date => "date",
        },
        _ => "string",
    }
}

/// A picklist field's values and whether the org restricts it to them.
fn picklist(org: &Org, kind: Kind, name: &str) -> (Vec<String>, bool) {
    let standard = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
    match (kind, name) {
        (Kind::Campaign, "Type") => match &org.campaign_types {
            Some(values) => (values.clone(), true),
            None => (standard(CAMPAIGN_TYPES), false),
        },
        (Kind::Campaign, "Status") => (
            standard(&["Planned", "In Progress", "Completed", "Aborted"]),
            false,
        ),
        (Kind::Lead, "Status") => (
            standard(&[
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
            ]),
            false,
        ),
        (Kind::Lead | Kind::Contact, "LeadSource") => (
            standard(&[
                "Web",
                "Phone Inquiry",
                "Partner Referral",
                "Purchased List",
                "Other",
            ]),
            false,
        ),
        // Each campaign has its own member statuses; a describe lists a new campaign's.
        (Kind::CampaignMember, "Status") => (standard(&["Sent", "Responded"]), false),
        _ => (Vec::new(), false),
    }
}

/// `ActualCost` → `Actual Cost`, as Salesforce labels standard fields.
fn words(name: &str) -> String {
    let mut label = String::with_capacity(name.len() + 4);
    for (i, c) in name.char_indices() {
        if i > 0 && c.is_ascii_uppercase() && !name[..i].ends_with(|p: char| p.is_ascii_uppercase())
        {
            label.push(' ');
        }
        label.push(c);
    }
    label
}
