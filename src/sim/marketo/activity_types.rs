//! Custom activity types, as Marketo keeps them: a draft and, once approved, an approved
//! version; `POST /rest/v1/activities/external/type.json` (create), `…/type/{apiName}/
//! attributes/create.json`, `…/approve.json`, `GET …/describe.json` and `…/types.json`.
//! Activities may be posted only against an approved type's attributes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::clock;
use super::envelope::{self, MktoError};
use super::input::{self, Params};
use super::shared::{Shared, lock};

/// Most subscriptions may define ten custom activity types.
pub const MAX_TYPES: usize = 10;
/// Secondary attributes a type may have (error-code list, 1028 "Max field limit").
pub const MAX_ATTRIBUTES: usize = 20;
const DATA_TYPES: [&str; 11] = [
    "string", "boolean", "integer", "float", "link", "email", "currency", "date", "datetime",
    "phone", "text",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeAttribute {
    pub api_name: String,
    pub name: String,
    #[serde(default = "string_type")]
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn string_type() -> String {
    "string".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub name: String,
    pub trigger_name: String,
    pub filter_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub primary_attribute: TypeAttribute,
    #[serde(default)]
    pub attributes: Vec<TypeAttribute>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityType {
    pub id: i64,
    pub api_name: String,
    pub draft: Definition,
    pub approved: Option<Definition>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActivityType {
    pub fn status(&self) -> &'static str {
        match &self.approved {
            None => "draft",
            Some(approved) if *approved == self.draft => "approved",
            Some(_) => "approved with draft",
        }
    }

    /// The type as the API shows it: the approved version unless `draft` is asked for.
    pub fn view(&self, draft: bool) -> Value {
        let definition = match (&self.approved, draft) {
            (Some(approved), false) => approved,
            _ => &self.draft,
        };
        let mut value = serde_json::to_value(definition).unwrap_or_default();
        value["id"] = json!(self.id);
        value["apiName"] = json!(self.api_name);
        value["status"] = json!(self.status());
        value["createdAt"] = json!(clock::lead_db(self.created_at));
        value["updatedAt"] = json!(clock::lead_db(self.updated_at));
        value
    }

    /// The type as its creation answers it: the definition and its status, without the id and
    /// the timestamps Marketo's documented answer leaves out (they are read by listing).
    fn created_view(&self) -> Value {
        let mut value = self.view(true);
        if let Some(fields) = value.as_object_mut() {
            for key in ["id", "createdAt", "updatedAt"] {
                fields.remove(key);
            }
        }
        value
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewType {
    api_name: Option<String>,
    #[serde(flatten)]
    definition: Definition,
}

#[derive(Deserialize)]
struct NewAttributes {
    #[serde(default)]
    attributes: Vec<TypeAttribute>,
}

/// An attribute's API name: letters, digits and underscores, with a letter.
fn valid_api_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().any(|c| c.is_ascii_alphabetic())
}

/// A type's API name: "alphanumeric, containing at least one letter" (the custom activity
/// type's schema), so no underscore.
fn valid_type_api_name(name: &str) -> bool {
    valid_api_name(name) && !name.contains('_')
}

fn check_attribute(attribute: &TypeAttribute) -> Result<(), MktoError> {
    if !valid_api_name(&attribute.api_name) || attribute.name.trim().is_empty() {
        return Err(MktoError::InvalidData(format!(
            "Invalid attribute '{}'",
            attribute.api_name
        )));
    }
    if !DATA_TYPES.contains(&attribute.data_type.as_str()) {
        return Err(MktoError::InvalidData(format!(
            "Invalid dataType '{}'",
            attribute.data_type
        )));
    }
    Ok(())
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create_type(&shared, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn create_type(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, MktoError> {
    let request: NewType = input::json_body(headers, body).map_err(|e| match e {
        MktoError::InvalidJson => MktoError::InvalidData(
            "apiName, name, triggerName, filterName and primaryAttribute are required".into(),
        ),
        other => other,
    })?;
    let api_name = request.api_name.ok_or(MktoError::Blank("apiName"))?;
    if !valid_type_api_name(&api_name) {
        return Err(MktoError::InvalidData(format!(
            "Invalid apiName '{api_name}'"
        )));
    }
    let definition = request.definition;
    for text in [
        &definition.name,
        &definition.trigger_name,
        &definition.filter_name,
    ] {
        if text.trim().is_empty() {
            return Err(MktoError::InvalidData(
                "name, triggerName and filterName cannot be blank".into(),
            ));
        }
    }
    check_attribute(&definition.primary_attribute)?;
    if definition.attributes.len() > MAX_ATTRIBUTES {
        return Err(MktoError::MaxFields(MAX_ATTRIBUTES));
    }
    let mut types = lock(&shared.custom_activities);
    if types.types.iter().any(|t| t.api_name == api_name) {
        return Err(MktoError::InvalidData(format!(
            "Activity type '{api_name}' already exists"
        )));
    }
    if types.types.len() >= MAX_TYPES {
        return Err(MktoError::MaxActivityTypes);
    }
    let now = clock::now_ms();
    let id = 100_000 + types.types.len() as i64 + 1;
    let created = ActivityType {
        id,
        api_name,
        draft: definition,
        approved: None,
        created_at: now,
        updated_at: now,
    };
    let view = created.created_view();
    types.types.push(created);
    Ok(envelope::lead_db(vec![view], None))
}

/// `…/type/{apiName}/attributes/create.json` and `…/type/{apiName}/approve.json`.
pub async fn change(
    State(shared): State<Arc<Shared>>,
    Path((api_name, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change_type(&shared, &api_name, &action, &headers, &body)
        .unwrap_or_else(IntoResponse::into_response)
}

fn change_type(
    shared: &Shared,
    api_name: &str,
    action: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, MktoError> {
    let mut types = lock(&shared.custom_activities);
    let found = types
        .types
        .iter_mut()
        .find(|t| t.api_name == api_name)
        .ok_or_else(|| {
            MktoError::ObjectNotFound(format!("Activity type '{api_name}' not found"))
        })?;
    match action {
        "approve.json" => {
            if found.approved.as_ref() == Some(&found.draft) {
                return Err(MktoError::InvalidData("No draft version to approve".into()));
            }
            found.approved = Some(found.draft.clone());
        }
        "attributes/create.json" => {
            let request: NewAttributes = input::json_body(headers, body)?;
            if request.attributes.is_empty() {
                return Err(MktoError::Blank("attributes"));
            }
            for attribute in &request.attributes {
                check_attribute(attribute)?;
                let draft = &found.draft;
                if draft.primary_attribute.api_name == attribute.api_name
                    || draft
                        .attributes
                        .iter()
                        .any(|a| a.api_name == attribute.api_name)
                {
                    return Err(MktoError::InvalidData(format!(
                        "Attribute '{}' already exists",
                        attribute.api_name
                    )));
                }
            }
            let total = found.draft.attributes.len() + request.attributes.len();
            if total > MAX_ATTRIBUTES {
                return Err(MktoError::MaxFields(MAX_ATTRIBUTES));
            }
            found.draft.attributes.extend(request.attributes);
        }
        _ => return Err(MktoError::NotFound),
    }
    found.updated_at = clock::now_ms();
    Ok(envelope::lead_db(vec![found.view(true)], None))
}

pub async fn describe(
    State(shared): State<Arc<Shared>>,
    Path(api_name): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let answer = input::params(query).and_then(|params| {
        let draft = params.get("draft").is_some_and(|v| v == "true");
        let types = lock(&shared.custom_activities);
        let found = types
            .types
            .iter()
            .find(|t| t.api_name == api_name)
            .ok_or_else(|| {
                MktoError::ObjectNotFound(format!("Activity type '{api_name}' not found"))
            })?;
        Ok(envelope::lead_db(vec![found.view(draft)], None))
    });
    answer.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /rest/v1/activities/types.json`: every activity type a reader of the activity feed
/// meets, as Marketo lists them: the standard ones the simulator logs (Change Status in
/// Progression) and each approved custom type (ids from 100,000), with its primary attribute
/// and attributes by display name and data type.
pub async fn all_types(State(shared): State<Arc<Shared>>) -> Response {
    let attribute = |name: &str, data_type: &str| json!({ "name": name, "dataType": data_type });
    let mut result = vec![json!({
        "id": super::activities::CHANGE_STATUS_IN_PROGRESSION,
        "name": "Change Status in Progression",
        "description": "Changes the program status of a person in a program",
        "primaryAttribute": attribute("Program ID", "integer"),
        "attributes": [
            attribute("Acquired By", "boolean"),
            attribute("New Status ID", "integer"),
            attribute("Old Status ID", "integer"),
            attribute("Old Status", "string"),
            attribute("New Status", "string"),
            attribute("Success", "boolean"),
        ],
    })];
    let types = lock(&shared.custom_activities);
    for found in &types.types {
        let Some(approved) = &found.approved else {
            continue;
        };
        let mut listed = json!({
            "id": found.id,
            "name": approved.name,
            "primaryAttribute": attribute(&approved.primary_attribute.name, &approved.primary_attribute.data_type),
            "attributes": approved
                .attributes
                .iter()
                .map(|a| attribute(&a.name, &a.data_type))
                .collect::<Vec<_>>(),
        });
        if let Some(description) = &approved.description {
            listed["description"] = json!(description);
        }
        result.push(listed);
    }
    envelope::lead_db(result, None)
}

pub async fn list(State(shared): State<Arc<Shared>>) -> Response {
    let types = lock(&shared.custom_activities);
    let result = types.types.iter().map(|t| t.view(false)).collect();
    envelope::lead_db(result, None)
}
