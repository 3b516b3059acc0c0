//! Requests refused before anything happens, each naming what it refused: a query parameter a
//! route does not take, a compressed body, a number or a repeat in the query, a subscription
//! field of the wrong type.

use serde_json::Value;

use crate::error_shapes::{ADMIN, json_error, spawn};

/// A route that takes no query parameters refuses one, naming it, and does nothing: a stray
/// `?x=1` deleted a subscription, switched sync off or created one, as if it were not there.
#[tokio::test]
async fn routes_without_parameters_refuse_one_and_do_nothing() {
    let app = spawn().await;
    let call = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
    };
    let subscription =
        serde_json::json!({"url": "http://127.0.0.1:9/hook", "event_types": ["signal_dead"]});
    let created: Value = call(reqwest::Method::POST, "/admin/subscriptions")
        .json(&subscription)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    let delete = format!("/admin/subscriptions/{id}?x=1");
    for (method, path, body) in [
        (reqwest::Method::DELETE, delete.as_str(), None),
        (
            reqwest::Method::POST,
            "/admin/subscriptions?x=1",
            Some(&subscription),
        ),
        (reqwest::Method::POST, "/admin/sync/disable?x=1", None),
        (
            reqwest::Method::POST,
            "/admin/mappings/any/disable?dryRun=true",
            None,
        ),
        (
            reqwest::Method::POST,
            "/admin/dead-letters/1/replay?x=1",
            None,
        ),
        (
            reqwest::Method::POST,
            "/admin/dead-letters/replay?x=1",
            Some(&serde_json::json!({"ids": []})),
        ),
        (
            reqwest::Method::POST,
            "/admin/upstreams/marketo/resume?x=1",
            None,
        ),
        (reqwest::Method::GET, "/admin/mappings?x=1", None),
        (reqwest::Method::GET, "/admin/status?foo=1", None),
        (reqwest::Method::GET, "/admin/jobs/1?x=1", None),
    ] {
        let mut request = call(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let (status, error) = json_error(request.send().await.unwrap()).await;
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            status == 400 && message.contains("unknown field"),
            "{path}: {status} {error}"
        );
    }
    let listed: Value = call(reqwest::Method::GET, "/admin/subscriptions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![id], "nothing deleted or created: {listed}");
    let mappings: Value = call(reqwest::Method::GET, "/admin/mappings")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mappings["syncEnabled"], true, "{mappings}");
}

/// A compressed body is refused with 415 saying so on every route, as on the receivers; it was
/// read as JSON and called malformed ("expected value at line 1 column 1").
#[tokio::test]
async fn a_compressed_body_is_415_on_every_route() {
    let app = spawn().await;
    for path in ["/admin/subscriptions", "/admin/dead-letters/replay"] {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 0x08, 0x00])
            .send()
            .await
            .unwrap();
        let (status, error) = json_error(response).await;
        assert_eq!(status, 415, "{path}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("content encoding \"gzip\""),
            "{path}: {error}"
        );
    }
}

/// A parameter that is not a whole number, or one given twice, is told in words naming it
/// ("invalid digit found in string" named no value; a repeated one named no field).
#[tokio::test]
async fn numbers_and_repeats_in_the_query_are_told_in_words() {
    let app = spawn().await;
    for (path, field, says) in [
        (
            "/v1/member-of?programId=abc&leadId=1001",
            "programId",
            "programId: a whole number, not \"abc\"",
        ),
        (
            "/admin/subscriptions/1/replay?delivery=x1",
            "delivery",
            "delivery: a whole number, not \"x1\"",
        ),
        (
            "/admin/outcomes?limit=1&limit=2",
            "limit",
            "limit is given twice",
        ),
        // A person key that is not one, or an empty address, matched nothing with a 200.
        (
            "/admin/outcomes?person=abc",
            "person",
            "\"abc\" is not a person's id",
        ),
        ("/admin/outcomes?email=", "email", "empty: give an address"),
    ] {
        let method = if path.contains("/replay") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let response = app
            .client
            .request(method, app.url(path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let (status, error) = json_error(response).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some(field)),
            "{path}: {error}"
        );
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{path}: {error}"
        );
    }
    // A parameter with no name is told as such, not as an unknown field ``.
    let response = app
        .client
        .get(app.url("/admin/status?=1"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let (status, error) = json_error(response).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("has no name"),
        "{error}"
    );
}

/// A subscription field of the wrong type is named in `field`, as a missing or unknown one is.
#[tokio::test]
async fn a_subscription_field_of_the_wrong_type_is_named() {
    let app = spawn().await;
    for (body, field) in [
        (
            serde_json::json!({"url": 5, "event_types": ["signal_dead"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "http://127.0.0.1:9/h", "event_types": "signal_dead"}),
            "event_types",
        ),
        // A third slash names no host (it was delivered to the path's first segment).
        (
            serde_json::json!({"url": "http:///nohost", "event_types": ["signal_dead"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "http:/nohost", "event_types": ["signal_dead"]}),
            "url",
        ),
    ] {
        let response = app
            .client
            .post(app.url("/admin/subscriptions"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, error) = json_error(response).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (400, Some(field)),
            "{error}"
        );
    }
}
