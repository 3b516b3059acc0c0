//! `openapi.yaml` must be a well-formed OpenAPI document, and it and the real router must serve
//! the same routes.

use std::collections::BTreeSet;

use campaign_sync::http::served_routes;
use yaml_rust2::parser::{Event, EventReceiver, Parser};
use yaml_rust2::scanner::TScalarStyle;
use yaml_rust2::{Yaml, YamlLoader};

use crate::test_app::TestApp;

/// `(method, path)` pairs under `paths:`, read from the parsed document.
fn spec_routes(spec: &Yaml) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_hash().expect("a paths mapping");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("a path is a string");
        for method in ["get", "post", "put", "patch", "delete"] {
            if !item[method].is_badvalue() {
                routes.insert((method.to_string(), path.to_string()));
            }
        }
    }
    routes
}

/// Every place in `node` where a mapping key has no value, as a `/`-joined path. An unquoted
/// comma inside a `{ ... }` mapping ends the value and makes a key of the rest, so a sentence
/// in a one-line description turns into a key with no value.
fn empty_values(node: &Yaml, at: &str, found: &mut Vec<String>) {
    match node {
        Yaml::Hash(entries) => {
            for (key, value) in entries {
                let here = format!("{at}/{}", key.as_str().unwrap_or("?"));
                if value.is_null() {
                    found.push(here.clone());
                }
                empty_values(value, &here, found);
            }
        }
        Yaml::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                empty_values(item, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// What `node` stands for: the target of its `$ref` if it has one (`Yaml::BadValue` when the
/// target is missing), else itself.
pub(crate) fn resolve<'a>(spec: &'a Yaml, node: &'a Yaml) -> &'a Yaml {
    match node["$ref"].as_str() {
        Some(target) => target
            .strip_prefix("#/")
            .map_or(&Yaml::BadValue, |pointer| {
                pointer.split('/').fold(spec, |node, part| &node[part])
            }),
        None => node,
    }
}

/// Every `$ref` in `node` (`#/components/schemas/Name`) whose target the document lacks.
fn dangling_refs(spec: &Yaml, node: &Yaml, found: &mut Vec<String>) {
    match node {
        Yaml::Hash(entries) => {
            for (key, value) in entries {
                if key.as_str() == Some("$ref") && resolve(spec, node).is_badvalue() {
                    found.push(value.as_str().unwrap_or_default().to_string());
                }
                dangling_refs(spec, value, found);
            }
        }
        Yaml::Array(items) => items
            .iter()
            .for_each(|item| dangling_refs(spec, item, found)),
        _ => {}
    }
}

/// Plain (unquoted) scalars holding a `?`: inside a one-line `{ ... }` mapping YAML 1.1 parsers
/// such as PyYAML refuse them where YAML 1.2 ones do not, so the file quotes every such text.
#[derive(Default)]
struct PlainQuestionMarks(Vec<String>);

impl EventReceiver for PlainQuestionMarks {
    fn on_event(&mut self, event: Event) {
        if let Event::Scalar(value, TScalarStyle::Plain, ..) = event
            && value.contains('?')
        {
            self.0.push(value);
        }
    }
}

#[test]
fn the_spec_is_a_well_formed_openapi_document() {
    let text = spec_text();
    let spec = parse(&text);
    assert_eq!(spec["openapi"].as_str(), Some("3.1.0"));
    for key in ["title", "version"] {
        assert!(spec["info"][key].as_str().is_some(), "info.{key} missing");
    }
    let mut empty = Vec::new();
    empty_values(&spec, "", &mut empty);
    assert!(
        empty.is_empty(),
        "keys without a value (quote a description holding a comma): {empty:?}"
    );
    let mut dangling = Vec::new();
    dangling_refs(&spec, &spec, &mut dangling);
    assert!(dangling.is_empty(), "$ref to nothing: {dangling:?}");
    for (method, path) in spec_routes(&spec) {
        let operation = &spec["paths"][path.as_str()][method.as_str()];
        let responses = operation["responses"].as_hash();
        assert!(
            responses.is_some_and(|r| !r.is_empty()),
            "{method} {path} documents no response"
        );
        for (status, response) in responses.into_iter().flatten() {
            let response = resolve(&spec, response);
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{method} {path} {status:?} has no description"
            );
        }
    }
    let mut marks = PlainQuestionMarks::default();
    Parser::new_from_str(&text)
        .load(&mut marks, false)
        .expect("openapi.yaml parses");
    assert!(
        marks.0.is_empty(),
        "unquoted text with a '?' (inside `{{ … }}` YAML 1.1 parsers such as PyYAML refuse it): {:?}",
        marks.0
    );
}

/// The checks above find what they look for: a description split at a comma, a `$ref` to nothing.
#[test]
fn the_checks_catch_a_split_description_and_a_dangling_ref() {
    let spec = parse(
        "openapi: 3.1.0\npaths: {}\ncomponents:\n  schemas:\n    A: { type: string, \
         description: one, two }\n    B: { $ref: \"#/components/schemas/C\" }\n",
    );
    let mut empty = Vec::new();
    empty_values(&spec, "", &mut empty);
    assert_eq!(empty, ["/components/schemas/A/two"]);
    let mut dangling = Vec::new();
    dangling_refs(&spec, &spec, &mut dangling);
    assert_eq!(dangling, ["#/components/schemas/C"]);
}

#[test]
fn every_route_is_in_the_spec_and_every_spec_route_exists() {
    let documented = spec_routes(&parse(&spec_text()));
    let served: BTreeSet<_> = served_routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in openapi.yaml but not served: {extra:?}"
    );
}

/// Asks the running router for every documented route: none may fall through to "no route"
/// or answer 405, whatever its handler then says about the made-up parameters.
#[tokio::test]
async fn the_running_router_answers_every_documented_route() {
    let app = TestApp::spawn().await;
    for (method, path) in spec_routes(&parse(&spec_text())) {
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            !unrouted(&text) && status != reqwest::StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but the router does not serve it ({status})"
        );
    }
    let response = app.get("/no/such/route").await;
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(unrouted(&response.text().await.unwrap()));
    app.stop().await.unwrap();
}

/// Whether an answer is the 404 of a path no route serves.
fn unrouted(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| {
        v["error"]["message"] == format!("{} not found", campaign_sync::http::NO_ROUTE)
    })
}

pub(crate) fn spec_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the crate root")
}

pub(crate) fn parse(text: &str) -> Yaml {
    let mut documents = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(documents.len(), 1, "one YAML document");
    documents.remove(0)
}
