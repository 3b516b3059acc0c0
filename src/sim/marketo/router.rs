//! The simulator's routes. Everything under `/rest` and `/bulk` passes the gate (auth, limits, faults, log);
//! identity and `/__sim` do not, as identity calls are not counted by Marketo either.

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, get, post};

use super::shared::Shared;
use super::{
    activities, activity_types, control_http, custom_activities, exports_http, gate, identity,
    inspect, lead_records, leads, member_writes, members, program_browse, programs,
};

pub fn router(shared: Arc<Shared>) -> Router {
    let rest = Router::new()
        .route(
            "/rest/v1/leads.json",
            only(get(leads::query).post(leads::sync)),
        )
        .route("/rest/v1/lead/{file}", only(get(lead_records::get)))
        .route(
            "/rest/v1/leads/delete.json",
            only(post(lead_records::delete)),
        )
        .route(
            "/rest/v1/leads/{id}/merge.json",
            only(post(lead_records::merge)),
        )
        .route(
            "/rest/v1/programs/{id}/members.json",
            only(get(members::query).post(members::query_as_post)),
        )
        .route(
            "/rest/v1/programs/{id}/members/status.json",
            only(post(member_writes::status)),
        )
        .route(
            "/rest/v1/programs/{id}/members/delete.json",
            only(post(member_writes::delete)),
        )
        .route(
            "/rest/v1/activities/pagingtoken.json",
            only(get(activities::paging_token)),
        )
        .route("/rest/v1/activities.json", only(get(activities::query)))
        .route(
            "/rest/v1/activities/types.json",
            only(get(activity_types::all_types)),
        )
        .route(
            "/rest/asset/v1/programs.json",
            only(get(program_browse::browse)),
        )
        .route(
            "/rest/asset/v1/program/byName.json",
            only(get(programs::by_name)),
        )
        .route(
            "/rest/asset/v1/program/{file}",
            only(get(programs::get).post(programs::update)),
        )
        .route(
            "/rest/asset/v1/smartCampaign/{file}",
            only(get(custom_activities::smart_campaign)),
        )
        .route(
            "/rest/asset/v1/channels.json",
            only(get(programs::channels)),
        )
        .route(
            "/rest/asset/v1/channel/byName.json",
            only(get(programs::channel_by_name)),
        )
        .route(
            "/rest/v1/activities/external/type.json",
            only(post(activity_types::create)),
        )
        .route(
            "/rest/v1/activities/external/types.json",
            only(get(activity_types::list)),
        )
        .route(
            "/rest/v1/activities/external/type/{api_name}/describe.json",
            only(get(activity_types::describe)),
        )
        .route(
            "/rest/v1/activities/external/type/{api_name}/{*action}",
            only(post(activity_types::change)),
        )
        .route(
            "/rest/v1/activities/external.json",
            only(post(custom_activities::post)),
        )
        .route(
            "/rest/v1/campaigns/{id}/trigger.json",
            only(post(custom_activities::request_campaign)),
        )
        .route(
            "/bulk/v1/program/members/export/create.json",
            only(post(exports_http::create)),
        )
        .route(
            "/bulk/v1/program/members/export/{id}/enqueue.json",
            only(post(exports_http::enqueue)),
        )
        .route(
            "/bulk/v1/program/members/export/{id}/status.json",
            only(get(exports_http::status)),
        )
        .route(
            "/bulk/v1/program/members/export/{id}/cancel.json",
            only(post(exports_http::cancel)),
        )
        .route(
            "/bulk/v1/program/members/export/{id}/file.json",
            only(get(exports_http::file)),
        )
        .fallback(gate::not_found)
        .layer(from_fn_with_state(Arc::clone(&shared), gate::rest_gate));
    let routes = Router::new()
        .route(
            "/identity/oauth/token",
            get(identity::token)
                .post(identity::token)
                .fallback(identity::wrong_method),
        )
        .route("/__sim/requests", get(inspect::requests))
        .route("/__sim/state", get(inspect::state))
        .route(
            "/__sim/programs/{id}/members/status",
            post(control_http::set_status),
        )
        .route("/__sim/tokens/expire", post(control_http::expire_tokens))
        .route("/__sim/tokens/revoke", post(control_http::revoke_tokens))
        .route(
            "/__sim/credentials/revoke",
            post(control_http::revoke_credentials),
        )
        .route(
            "/__sim/credentials/restore",
            post(control_http::restore_credentials),
        )
        .route("/__sim/webhooks/deliver", post(control_http::deliver))
        .route("/__sim/webhook-target", post(control_http::webhook_target))
        .route(
            "/__sim/smart-campaigns",
            post(control_http::add_smart_campaign),
        )
        .route(
            "/__sim/faults",
            get(control_http::list_faults)
                .post(control_http::add_fault)
                .delete(control_http::clear_faults),
        )
        .route(
            "/__sim/{*rest}",
            axum::routing::any(|uri: axum::http::Uri| async move {
                crate::sim::unknown_control::answer("Marketo", &uri)
            }),
        )
        .merge(rest)
        .with_state(shared);
    // Around the whole router, so the 405 it answers already carries its `Allow` header (a
    // layer on the routes ran before the router added it: "use " named nothing).
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_response(
            |method: axum::http::Method,
             uri: axum::http::Uri,
             response: axum::response::Response| async move {
                crate::sim::unknown_control::wrong_method(&method, &uri, response)
            },
        ))
}

/// Answers other methods with 605, as Marketo does, instead of axum's 405.
fn only(route: MethodRouter<Arc<Shared>>) -> MethodRouter<Arc<Shared>> {
    route.fallback(gate::method_not_supported)
}
