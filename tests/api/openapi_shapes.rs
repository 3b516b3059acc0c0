//! The service's real answers match the schemas `openapi.yaml` gives them: every field a
//! schema lists has its type (`null` only where the type allows it), required fields are there,
//! and an object whose schema lists its properties has no others.

use reqwest::Method;
use serde_json::{Value, json};
use yaml_rust2::Yaml;

use crate::openapi::{parse, resolve, spec_text};
use crate::world::{Options, World};

const TOKEN: &str = "admin";

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn yaml_equals(yaml: &Yaml, value: &Value) -> bool {
    match (yaml, value) {
        (Yaml::String(a), Value::String(b)) => a == b,
        (Yaml::Integer(a), Value::Number(b)) => b.as_i64() == Some(*a),
        (Yaml::Boolean(a), Value::Bool(b)) => a == b,
        (Yaml::Null, Value::Null) => true,
        _ => false,
    }
}

/// `schema` with its `allOf` parts folded in: their properties, required fields and type, so
/// a field any part lists is a listed field.
fn flattened(spec: &Yaml, schema: &Yaml) -> Yaml {
    let schema = resolve(spec, schema);
    let Some(parts) = schema["allOf"].as_vec() else {
        return schema.clone();
    };
    let mut merged = schema.as_hash().cloned().unwrap_or_default();
    merged.remove(&Yaml::String("allOf".into()));
    let key = |k: &str| Yaml::String(k.into());
    for part in parts {
        let part = flattened(spec, part);
        if let Some(properties) = part["properties"].as_hash() {
            let entry = merged
                .entry(key("properties"))
                .or_insert_with(|| Yaml::Hash(Default::default()));
            if let Yaml::Hash(all) = entry {
                all.extend(properties.clone());
            }
        }
        if let Some(required) = part["required"].as_vec() {
            let entry = merged
                .entry(key("required"))
                .or_insert_with(|| Yaml::Array(Vec::new()));
            if let Yaml::Array(all) = entry {
                all.extend(required.iter().cloned());
            }
        }
        if !part["type"].is_badvalue() {
            merged.entry(key("type")).or_insert(part["type"].clone());
        }
    }
    Yaml::Hash(merged)
}

/// Every way `value` departs from `schema`, each prefixed with where (`at`).
fn check(spec: &Yaml, schema: &Yaml, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = &flattened(spec, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[key].as_vec() {
            let fits = branches.iter().any(|branch| {
                let mut found = Vec::new();
                check(spec, branch, value, at, &mut found);
                found.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} fits no branch of {key}"));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Yaml::String(one) => vec![one.as_str()],
        Yaml::Array(many) => many.iter().filter_map(Yaml::as_str).collect(),
        _ => Vec::new(),
    };
    let actual = json_type(value);
    if !types.is_empty()
        && !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
    {
        errors.push(format!("{at}: {actual} where the schema says {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_vec()
        && !value.is_null()
        && !allowed.iter().any(|a| yaml_equals(a, value))
    {
        errors.push(format!("{at}: {value} is not in the enum"));
    }
    match value {
        Value::Object(fields) => {
            for required in schema["required"].as_vec().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !fields.contains_key(name) {
                    errors.push(format!("{at}: required `{name}` is missing"));
                }
            }
            let properties = schema["properties"].as_hash();
            let additional = &schema["additionalProperties"];
            for (name, field) in fields {
                let here = format!("{at}.{name}");
                let listed = properties.and_then(|p| p.get(&Yaml::String(name.clone())));
                match (listed, additional) {
                    (Some(property), _) => check(spec, property, field, &here, errors),
                    (None, Yaml::Hash(_)) => check(spec, additional, field, &here, errors),
                    // A free-form object (no properties listed), or one that allows more.
                    (None, Yaml::Boolean(true)) => {}
                    (None, _) if properties.is_none() => {}
                    (None, _) => errors.push(format!("{here}: not in the schema")),
                }
            }
        }
        Value::Array(items) if !schema["items"].is_badvalue() => {
            for (i, item) in items.iter().enumerate() {
                check(spec, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

struct Checker<'a> {
    world: &'a World,
    spec: &'a Yaml,
}

impl Checker<'_> {
    /// Calls `method path` (the spec's `template` names the operation) and checks the JSON answer
    /// against the schema the spec gives that status.
    async fn call(
        &self,
        method: Method,
        path: &str,
        template: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (world, spec) = (self.world, self.spec);
        let mut request = world
            .app
            .client
            .request(method.clone(), world.app.url(path))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        let operation = &spec["paths"][template][method.as_str().to_lowercase().as_str()];
        assert!(
            !operation.is_badvalue(),
            "{method} {template} is not in the spec"
        );
        let answer = resolve(spec, &operation["responses"][status.to_string().as_str()]);
        assert!(
            !answer.is_badvalue(),
            "{method} {path}: status {status} is not documented: {value}"
        );
        let schema = &answer["content"]["application/json"]["schema"];
        assert!(
            !schema.is_badvalue(),
            "{method} {path} {status}: no JSON schema documented"
        );
        let mut errors = Vec::new();
        check(spec, schema, &value, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {path} {status} departs from openapi.yaml:\n{}\n{value}",
            errors.join("\n")
        );
        (status, value)
    }
}

#[tokio::test]
async fn admin_answers_match_their_documented_schemas() {
    let spec = parse(&spec_text());
    let world = World::with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let (lead, _) = world.person("ada@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    // A change whose webhook is never delivered: the reconciliation's preview lists it.
    world.mk_sets(lead, "Attended");

    let checker = Checker {
        world: &world,
        spec: &spec,
    };
    let (status, job) = checker
        .call(
            Method::POST,
            "/admin/reconcile?dryRun=true",
            "/admin/reconcile",
            None,
        )
        .await;
    assert_eq!(status, 202);
    world.app.worker.run_jobs().await.unwrap();
    let id = job["id"].as_i64().unwrap();
    let (_, done) = checker
        .call(
            Method::GET,
            &format!("/admin/jobs/{id}"),
            "/admin/jobs/{id}",
            None,
        )
        .await;
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        done["result"]["reports"][0]["changes"][0]["to"].is_string(),
        "the preview lists the change: {done}"
    );

    for (path, template) in [
        ("/admin/status", "/admin/status"),
        ("/admin/mappings", "/admin/mappings"),
        ("/admin/people?q=ada@example.com", "/admin/people"),
        ("/admin/people/1/timeline", "/admin/people/{id}/timeline"),
        ("/admin/outcomes", "/admin/outcomes"),
        ("/admin/outcomes?after=0", "/admin/outcomes"),
        ("/admin/retrying", "/admin/retrying"),
        ("/admin/dead-letters", "/admin/dead-letters"),
        ("/v1/trigger-events", "/v1/trigger-events"),
        (
            "/v1/member-of?programId=1001&email=ada@example.com",
            "/v1/member-of",
        ),
        ("/healthz", "/healthz"),
        ("/readyz", "/readyz"),
        (
            "/admin/outbox/marketo_activity?state=pending",
            "/admin/outbox/{destination}",
        ),
    ] {
        let (status, _) = checker.call(Method::GET, path, template, None).await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, created) = checker
        .call(
            Method::POST,
            "/admin/subscriptions",
            "/admin/subscriptions",
            Some(json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["added_to_campaign"] })),
        )
        .await;
    assert_eq!(status, 201);
    let subscription = created["id"].as_i64().unwrap();
    checker
        .call(
            Method::GET,
            "/admin/subscriptions",
            "/admin/subscriptions",
            None,
        )
        .await;
    checker
        .call(
            Method::GET,
            &format!("/admin/subscriptions/{subscription}/deliveries"),
            "/admin/subscriptions/{id}/deliveries",
            None,
        )
        .await;
    for (path, template) in [
        (
            format!("/admin/subscriptions/{subscription}/pause"),
            "/admin/subscriptions/{id}/{action}",
        ),
        (
            "/admin/mappings/webinar/disable".to_string(),
            "/admin/mappings/{name}/{action}",
        ),
        (
            "/admin/mappings/webinar/enable".to_string(),
            "/admin/mappings/{name}/{action}",
        ),
        ("/admin/sync/disable".to_string(), "/admin/sync/{action}"),
        ("/admin/sync/enable".to_string(), "/admin/sync/{action}"),
    ] {
        let (status, _) = checker.call(Method::POST, &path, template, None).await;
        assert_eq!(status, 200, "{path}");
    }
    // Refusals answer the documented error shape.
    for (method, path, template, expected) in [
        (Method::GET, "/admin/jobs/999999", "/admin/jobs/{id}", 404),
        (
            Method::GET,
            "/admin/outcomes?result=nope",
            "/admin/outcomes",
            400,
        ),
        (
            Method::GET,
            "/admin/retrying?limit=0",
            "/admin/retrying",
            400,
        ),
        (
            Method::POST,
            "/admin/reconcile?dryRun=maybe",
            "/admin/reconcile",
            400,
        ),
        (
            Method::POST,
            "/admin/reconcile?dryrun=true",
            "/admin/reconcile",
            400,
        ),
        (
            Method::POST,
            "/admin/outbox/marketo_activity/replay?delivery=999999",
            "/admin/outbox/{destination}/replay",
            404,
        ),
        // A misspelt parameter is refused rather than read as "replay every dead delivery".
        (
            Method::POST,
            "/admin/outbox/marketo_activity/replay?deliveryId=5",
            "/admin/outbox/{destination}/replay",
            400,
        ),
    ] {
        let (status, _) = checker.call(method, path, template, None).await;
        assert_eq!(status, expected, "{path}");
    }
}
