//! A small Swagger 2.0 checker for the contract test: finds the operation of a request (method
//! and path template), checks its path, query and form parameters and its body against the
//! declared parameters and schemas, and checks a response body against the declared schema.
//! Only what the Marketo specs use is covered: `$ref`, `type`, `items`, `properties`,
//! `required`, `enum`, `additionalProperties`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// One loaded spec file.
pub struct Spec {
    pub file: String,
    doc: Value,
}

/// An operation found for a request.
pub struct Operation<'a> {
    pub spec: &'a Spec,
    pub template: String,
    pub op: &'a Value,
    pub path_params: BTreeMap<String, String>,
}

impl Spec {
    pub fn load(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "the Marketo Swagger spec {} is missing ({e}); the contract test reads \
                 ../shared/reference/marketo/ beside the checkout (or $SHARED_REFERENCE_DIR/marketo/)",
                path.display()
            )
        });
        let doc = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        Spec {
            file: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            doc,
        }
    }

    /// The operation for `method` on `path`; a literal segment beats a `{parameter}`.
    pub fn find(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let paths = self.doc["paths"].as_object()?;
        let mut best: Option<(usize, Operation<'_>)> = None;
        for (template, item) in paths {
            let Some(params) = match_template(template, path) else {
                continue;
            };
            let Some(op) = item.get(method.to_lowercase()) else {
                continue;
            };
            if best.as_ref().is_none_or(|(n, _)| params.len() < *n) {
                let found = Operation {
                    spec: self,
                    template: template.clone(),
                    op,
                    path_params: params,
                };
                best = Some((found.path_params.len(), found));
            }
        }
        best.map(|(_, op)| op)
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                return schema;
            };
            let name = reference.trim_start_matches("#/definitions/");
            schema = &self.doc["definitions"][name];
        }
        schema
    }

    /// Every way `value` breaks `schema`, as `(where, rule)`.
    pub fn check(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<(String, String)>) {
        let schema = self.resolve(schema);
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            out.push((at.into(), format!("{value} is not one of {allowed:?}")));
        }
        let kind = schema.get("type").and_then(Value::as_str);
        let fits = match kind {
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("string") => value.is_string(),
            Some("boolean") => value.is_boolean(),
            Some("array") => value.is_array(),
            Some("object") => value.is_object(),
            _ => true,
        };
        if !fits && !value.is_null() {
            out.push((
                at.into(),
                format!("{value} is not of type {}", kind.unwrap_or("")),
            ));
            return;
        }
        if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
            for (i, item) in values.iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"), out);
            }
        }
        if let Some(object) = value.as_object() {
            self.check_object(schema, object, at, out);
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        object: &Map<String, Value>,
        at: &str,
        out: &mut Vec<(String, String)>,
    ) {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                out.push((at.into(), format!("required property {name:?} is missing")));
            }
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let extra = schema.get("additionalProperties");
        for (name, value) in object {
            match (properties.get(name), extra) {
                (Some(property), _) => self.check(property, value, &format!("{at}.{name}"), out),
                (None, Some(Value::Object(any))) => self.check(
                    &Value::Object(any.clone()),
                    value,
                    &format!("{at}.{name}"),
                    out,
                ),
                (None, Some(Value::Bool(true))) => {}
                (None, _) => out.push((at.into(), format!("property {name:?} is not declared"))),
            }
        }
    }
}

impl Operation<'_> {
    pub fn name(&self) -> String {
        let id = self.op["operationId"].as_str().unwrap_or("?");
        format!("{} {} ({id})", self.spec.file, self.template)
    }

    fn parameters(&self) -> impl Iterator<Item = &Value> {
        self.op["parameters"].as_array().into_iter().flatten()
    }

    /// Checks path parameters, `params` (query, or form fields of a read sent as POST) and the
    /// body; returns every broken rule.
    pub fn check_request(
        &self,
        params: &[(String, String)],
        body: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for p in self.parameters() {
            let (name, place) = (
                p["name"].as_str().unwrap_or(""),
                p["in"].as_str().unwrap_or(""),
            );
            let required = p["required"].as_bool().unwrap_or(false);
            let values: Vec<&str> = match place {
                "path" => self
                    .path_params
                    .get(name)
                    .map(String::as_str)
                    .into_iter()
                    .collect(),
                "query" | "formData" => params
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
                _ => continue,
            };
            if values.is_empty() && required {
                out.push((
                    format!("{place} {name}"),
                    "required parameter is missing".into(),
                ));
            }
            for value in values {
                self.check_scalar(p, value, &format!("{place} {name}"), &mut out);
            }
        }
        for (name, _) in params {
            let declared = self.parameters().any(|p| {
                p["name"] == name.as_str() && matches!(p["in"].as_str(), Some("query" | "formData"))
            });
            if !declared {
                out.push((format!("query {name}"), "parameter is not declared".into()));
            }
        }
        let body_param = self.parameters().find(|p| p["in"] == "body");
        match (body_param, body) {
            (Some(p), None) if p["required"] == true => {
                out.push(("body".into(), "required body is missing".into()))
            }
            (Some(p), Some(text)) => {
                let value = body_value(text, self.spec.resolve(&p["schema"]));
                self.spec.check(&p["schema"], &value, "body", &mut out);
            }
            (None, Some(_)) => out.push(("body".into(), "the operation takes no body".into())),
            _ => {}
        }
        out
    }

    fn check_scalar(&self, p: &Value, value: &str, at: &str, out: &mut Vec<(String, String)>) {
        let parts: Vec<&str> = if p["type"] == "array" {
            value.split(',').collect()
        } else {
            vec![value]
        };
        let item = if p["type"] == "array" { &p["items"] } else { p };
        for part in parts {
            let ok = match item["type"].as_str() {
                Some("integer") => part.parse::<i64>().is_ok(),
                Some("number") => part.parse::<f64>().is_ok(),
                Some("boolean") => matches!(part, "true" | "false"),
                _ => true,
            };
            if !ok {
                out.push((
                    at.into(),
                    format!("{part:?} is not of type {}", item["type"]),
                ));
            }
            if let Some(allowed) = item["enum"].as_array()
                && !allowed.iter().any(|a| a == part)
            {
                out.push((at.into(), format!("{part:?} is not one of {allowed:?}")));
            }
        }
    }

    /// The schema of the 200 answer, if the spec gives one.
    pub fn response_schema(&self) -> Option<&Value> {
        self.op["responses"]["200"].get("schema")
    }
}

/// A JSON body as it is; a form body (the Asset API's "body" travels as form fields) as an
/// object whose structured fields hold the JSON they carry.
fn body_value(text: &str, schema: &Value) -> Value {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return value;
    }
    let mut object = Map::new();
    for (name, value) in form_pairs(text) {
        let kind = schema["properties"][&name]["type"].as_str();
        let parsed = match kind {
            Some("array" | "object" | "integer" | "number" | "boolean") => {
                serde_json::from_str(&value).unwrap_or(Value::String(value))
            }
            _ => Value::String(value),
        };
        object.insert(name, parsed);
    }
    Value::Object(object)
}

/// Decoded `name=value` pairs of a query string or form body.
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .map(|url| {
            url.query_pairs()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `{name}` parameters of `path` if it matches `template` segment by segment (a segment may
/// be `{id}.json`).
fn match_template(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (t, p) in t.iter().zip(&p) {
        match (t.find('{'), t.find('}')) {
            (Some(open), Some(close)) => {
                let (prefix, suffix) = (&t[..open], &t[close + 1..]);
                let value = p.strip_prefix(prefix)?.strip_suffix(suffix)?;
                if value.is_empty() {
                    return None;
                }
                params.insert(t[open + 1..close].to_string(), value.to_string());
            }
            _ if t == p => {}
            _ => return None,
        }
    }
    Some(params)
}
