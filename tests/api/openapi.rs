//! `openapi.yaml` and the real router must serve the same routes.

use std::collections::BTreeSet;

use campaign_sync::http::{NO_ROUTE_HEADER, served_routes};

use crate::test_app::TestApp;

/// `(method, path)` pairs under `paths:`; the file keeps paths at two spaces of indent and
/// methods at four, which this reads without a YAML library.
fn spec_routes(spec: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut path = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.starts_with("paths:");
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  /") {
            path = Some(format!("/{}", rest.trim_end().trim_end_matches(':')));
        } else if let Some(rest) = line.strip_prefix("    ") {
            let key = rest.trim_end().trim_end_matches(':');
            if ["get", "post", "put", "patch", "delete"].contains(&key) {
                routes.insert((key.to_string(), path.clone().expect("method under a path")));
            }
        }
    }
    routes
}

#[test]
fn every_route_is_in_the_spec_and_every_spec_route_exists() {
    let documented = spec_routes(&spec());
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
    for (method, path) in spec_routes(&spec()) {
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
        assert!(
            response.headers().get(NO_ROUTE_HEADER).is_none()
                && response.status() != reqwest::StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but the router does not serve it ({})",
            response.status()
        );
    }
    let response = app.get("/no/such/route").await;
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(response.headers().get(NO_ROUTE_HEADER).is_some());
    app.stop().await.unwrap();
}

fn spec() -> String {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the crate root");
    assert!(spec.starts_with("openapi: 3.1"), "OpenAPI 3.1 expected");
    spec
}
