//! The `# HELP` line of every metric family `/metrics` shows: one sentence each, told to the
//! recorder once, so a dashboard author reads what a series counts without the README.

use metrics::{describe_counter, describe_gauge, describe_histogram};

/// Every family with its help text, by kind.
const COUNTERS: &[(&str, &str)] = &[
    (
        "http_requests_total",
        "Requests answered, by method (other: one HTTP does not define), route pattern and status.",
    ),
    (
        "http_connections_closed_total",
        "Connections closed by the server, by why.",
    ),
    (
        "connector_calls_total",
        "Calls to Salesforce and Marketo, by connector, method and HTTP status.",
    ),
    (
        "webhook_signals_total",
        "Marketo webhooks stored, by outcome (stored, duplicate).",
    ),
    (
        "outbound_messages_total",
        "Salesforce outbound messages answered, by outcome (acknowledged, refused, unavailable).",
    ),
    (
        "outbound_notifications_accepted_total",
        "Outbound-message notifications acknowledged, new or duplicate.",
    ),
    (
        "outbound_notifications_ignored_total",
        "Notifications of other object types, acknowledged and not stored, by type.",
    ),
    (
        "outbound_notifications_rejected_total",
        "Notifications refused on their own and kept with the dead letters (first delivery only).",
    ),
    (
        "outbound_notifications_without_data_total",
        "Notifications whose sObject carried no fields (the record was gone when sent).",
    ),
    (
        "marketo_feed_activities_total",
        "Marketo activity-feed entries read, by outcome.",
    ),
    (
        "sync_outcomes_total",
        "Planned writes, by result (applied, skipped, diverged, dead) and connector.",
    ),
    ("trigger_events_total", "Trigger events recorded, by kind."),
    (
        "outbox_attempts_total",
        "Delivery attempts to subscribers and Marketo, by destination and result.",
    ),
    (
        "reconcile_differences_total",
        "Differences reconciliation found, by mapping and kind.",
    ),
    (
        "reconcile_repairs_total",
        "How reconciliation's queued repairs ended, by mapping and result.",
    ),
    (
        "salesforce_deletions_ignored_total",
        "Deleted CampaignMembers the sync never knew (other campaigns', its own removals).",
    ),
    (
        "salesforce_deletions_out_of_reach_total",
        "Deletion windows getDeleted no longer reports; each queues a reconciliation.",
    ),
    (
        "salesforce_future_stamps_total",
        "Salesforce stamps more than 5 minutes ahead, taken as now.",
    ),
    (
        "store_group_commit_requests_total",
        "Signals committed by the store's group commits.",
    ),
    (
        "worker_restarts_total",
        "Times the worker loop was restarted after a crash.",
    ),
];

const GAUGES: &[(&str, &str)] = &[
    ("http_open_connections", "Connections open now."),
    ("inbox_signals", "Stored signals by state."),
    (
        "mapping_incompatible_statuses",
        "Statuses a held mapping cannot translate, by mapping.",
    ),
    (
        "salesforce_api_limit",
        "The org's daily API request limit, from Sforce-Limit-Info.",
    ),
    (
        "salesforce_api_usage",
        "The org's API requests today, from Sforce-Limit-Info.",
    ),
    (
        "upstream_auth_failures_consecutive",
        "Refused credentials in a row, by system.",
    ),
    (
        "upstream_paused_until_seconds",
        "When a side's pause ends (Unix seconds; 0 when not paused).",
    ),
    (
        "upstream_up",
        "Whether the system last answered (1) or not (0).",
    ),
    (
        "worker_last_round_timestamp_seconds",
        "When this replica's worker last finished a round (0: it does not run the worker).",
    ),
    (
        "worker_leader",
        "1 on the replica holding the worker lock, else 0.",
    ),
];

const HISTOGRAMS: &[(&str, &str)] = &[
    (
        "http_request_duration_seconds",
        "Time to answer a request, by method and route.",
    ),
    (
        "connector_call_duration_seconds",
        "Time of a call to Salesforce or Marketo, by connector.",
    ),
    (
        "store_group_commit_seconds",
        "Time of one group commit of received signals.",
    ),
];

/// Tells the recorder every family's help text (once per process is enough; again is harmless).
pub fn describe_all() {
    for (name, help) in COUNTERS {
        describe_counter!(*name, *help);
    }
    for (name, help) in GAUGES {
        describe_gauge!(*name, *help);
    }
    for (name, help) in HISTOGRAMS {
        describe_histogram!(*name, *help);
    }
}
