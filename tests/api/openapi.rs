//! `openapi.yaml` and the router must list the same routes.

use std::collections::BTreeSet;

use campaign_sync::http::ROUTES;

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
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the crate root");
    assert!(spec.starts_with("openapi: 3.1"), "OpenAPI 3.1 expected");
    let documented = spec_routes(&spec);
    let served: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.replace(":id", "{id}")))
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
