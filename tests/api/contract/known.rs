//! The documented differences between Marketo's Swagger specs and its documentation that the
//! contract test accepts, each with its reason.

/// Where the documentation and the specs disagree, as recorded in `reference/marketo-notes.md`
/// (§7 and the Asset API section); the simulator and the client follow the documentation.
/// `(operation template contains, where contains, rule contains, why it is accepted)`.
pub const KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "/channel/byName.json",
        "query name",
        "not declared",
        "the spec names the parameter `Name`; the documentation and Marketo use `name`",
    ),
    (
        "/channel/byName.json",
        "query Name",
        "required parameter is missing",
        "the spec names the parameter `Name`; the documentation and Marketo use `name`",
    ),
    (
        "/rest/v1/leads.json",
        "body.input[",
        "is not declared",
        "lead fields are the instance's own (describe.json); the spec cannot list them",
    ),
    (
        "/rest/v1/leads.json",
        "response.result[",
        "property \"reasons\" is not declared",
        "the spec's Lead declares a `reason` object; the documented answers give a skipped \
         record's `reasons` as an array",
    ),
    (
        "/rest/v1/",
        "response",
        "required property \"errors\"",
        "Lead Database answers leave out empty `errors`, as every documented example does",
    ),
    (
        "/rest/v1/",
        "response",
        "required property \"warnings\"",
        "Lead Database answers leave out empty `warnings`, as every documented example does",
    ),
    (
        "/bulk/v1/",
        "response",
        "required property \"errors\"",
        "bulk answers leave out empty `errors`, as every documented bulk example does",
    ),
    (
        "/bulk/v1/",
        "response",
        "required property \"warnings\"",
        "bulk answers leave out empty `warnings`, as every documented bulk example does",
    ),
    (
        "/enqueue.json",
        "response",
        "required property \"result\"",
        "a replayed enqueue is refused (1029 \"Job already queued\"); a failure carries no result",
    ),
    (
        "/cancel.json",
        "response",
        "required property \"result\"",
        "a replayed cancel is refused (the job is already Cancelled); a failure carries no result",
    ),
    (
        "/members/status.json",
        "response.result[",
        "required property \"leadId\"",
        "a skipped program member result carries no `leadId` (documented example)",
    ),
    (
        "/members/status.json",
        "response.result[",
        "\"created\" is not one of",
        "the spec's enum lacks `created`, which the documentation lists",
    ),
    (
        "/program/{id}.json",
        ".folder",
        "required property \"id\"",
        "documented answers give the folder as `{type, value, folderName}`",
    ),
    (
        "/program/{id}.json",
        ".folder",
        "is not declared",
        "documented answers give the folder as `{type, value, folderName}`",
    ),
    (
        "/program/{id}.json",
        "response.result[",
        "property \"headStart\" is not declared",
        "documented answers carry `headStart`",
    ),
    (
        "/program/{id}.json",
        ".status",
        "\"\" is not one of",
        "a default program's `status` is \"\" in documented answers",
    ),
    (
        "/program/{id}.json",
        ".type",
        "\"Default\" is not one of",
        "documented `type` values are capitalised (`Default`, `Event`, …); the spec's are not",
    ),
];
