//! Turns a verified webhook body into a typed [`Signal`]: a program-member change, or one of the
//! three SFDC-campaign flow actions. Tolerant of what Marketo really sends (a BOM, quoted ids,
//! empty tokens, unknown fields); strict about what the worker needs, naming the field.

use serde_json::Value;

use super::encoding::Encoding;
use super::lenient::{self, Fields};
use crate::http::error::ApiError;
use crate::signal::{FlowAction, FlowActionKind, MarketoMember, Signal};

/// Marketo's lead `email` field and program member `statusName` hold 255 characters; a trigger
/// name is given the same bound.
const MARKETO_TEXT_MAX: usize = 255;
/// A flow action's status is a Salesforce `CampaignMember.Status`: a picklist of length 40.
const CAMPAIGN_STATUS_MAX: usize = 40;

/// Parses one JSON body (tests; the receiver decodes through `encoding` first).
#[cfg(test)]
fn parse(body: &[u8]) -> Result<Signal, ApiError> {
    let headers = axum::http::HeaderMap::new();
    let encoding = super::encoding::Encoding::Json;
    from_fields(super::encoding::fields(&headers, body, encoding)?, encoding)
}

/// A body with a non-blank `action` is a flow action; any other body is a program-member change.
/// `encoding` is how its values were decoded, which an address refused for a `%` names.
pub(super) fn from_fields(value: Value, encoding: Encoding) -> Result<Signal, ApiError> {
    let Value::Object(fields) = value else {
        return Err(ApiError::bad_request("body must be a JSON object"));
    };
    match lenient::text(&fields, "action")? {
        Some(action) => flow_action(&fields, &action, encoding).map(Signal::MarketoFlowAction),
        // A flow-action template whose action token came out blank: say so, not that the
        // program is missing.
        None if fields.contains_key("campaignId") && !fields.contains_key("programId") => {
            Err(ApiError::field(
                "action",
                "`action` is missing or blank: a flow action (it names a campaignId) must be \
                 add_to_campaign, remove_from_campaign or change_campaign_status",
            ))
        }
        None => program_member(&fields, encoding).map(Signal::MarketoMember),
    }
}

/// A status is optional: a campaign may hard-code one, but the worker re-reads the member anyway
/// because Marketo has no token for the new status.
fn program_member(fields: &Fields, encoding: Encoding) -> Result<MarketoMember, ApiError> {
    Ok(MarketoMember {
        lead_id: lenient::required_id(fields, "leadId")?,
        program_id: lenient::required_id(fields, "programId")?,
        email: email(fields, encoding)?,
        status: lenient::text_max(fields, "status", MARKETO_TEXT_MAX)?,
        trigger: lenient::text_max(fields, "trigger", MARKETO_TEXT_MAX)?,
    })
}

fn flow_action(fields: &Fields, action: &str, encoding: Encoding) -> Result<FlowAction, ApiError> {
    let action = action_kind(action)?;
    let lead_id = lenient::required_id(fields, "leadId")?;
    let campaign_id = lenient::required_campaign_id(fields, "campaignId")?;
    let status = match action {
        FlowActionKind::AddToCampaign | FlowActionKind::ChangeCampaignStatus => {
            let status = lenient::text_max(fields, "status", CAMPAIGN_STATUS_MAX)?;
            Some(status.ok_or_else(|| lenient::missing("status"))?)
        }
        // Removal needs no status; one sent anyway is kept for the record.
        FlowActionKind::RemoveFromCampaign => {
            lenient::text_max(fields, "status", CAMPAIGN_STATUS_MAX)?
        }
    };
    Ok(FlowAction {
        action,
        lead_id,
        email: email(fields, encoding)?,
        campaign_id,
        status,
    })
}

/// An e-mail, when given, must look like one ([`crate::store::is_email_address`]).
fn email(fields: &Fields, encoding: Encoding) -> Result<Option<String>, ApiError> {
    let Some(email) = lenient::text_max(fields, "email", MARKETO_TEXT_MAX)? else {
        return Ok(None);
    };
    if !crate::store::is_email_address(&email) {
        // A `%` is how a value URL-encoded by Marketo looks when the URL does not say so, or,
        // when it does, a value encoded twice.
        let hint = match (email.contains('%'), encoding) {
            (false, _) => "",
            (true, Encoding::Json) => {
                " (with Request Token Encoding Form/Url, add ?encoding=url or ?encoding=form \
                 to the webhook URL)"
            }
            (true, Encoding::Url | Encoding::Form) => {
                " (it still holds a `%` once URL-decoded as the webhook URL's ?encoding says: \
                 the value was encoded twice, e.g. a token already encoded in the template)"
            }
        };
        return Err(ApiError::field(
            "email",
            format!("`email` is not an e-mail address: {email:?}{hint}"),
        ));
    }
    Ok(Some(email))
}

fn action_kind(action: &str) -> Result<FlowActionKind, ApiError> {
    match action.to_ascii_lowercase().as_str() {
        "add_to_campaign" => Ok(FlowActionKind::AddToCampaign),
        "remove_from_campaign" => Ok(FlowActionKind::RemoveFromCampaign),
        "change_campaign_status" => Ok(FlowActionKind::ChangeCampaignStatus),
        _ => Err(ApiError::field(
            "action",
            format!(
                "`action` must be add_to_campaign, remove_from_campaign or change_campaign_status, got {action:?}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(body: &str) -> Option<String> {
        match parse(body.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("expected a bad request for {body}, got {other:?}"),
        }
    }

    #[test]
    fn program_member_with_quoted_tokens_and_a_bom() {
        let body = "\u{feff}{\"leadId\": \"42\", \"programId\": \"1001\", \"email\": \"a@example.com\", \"trigger\": \"\", \"extra\": 1}";
        let signal = parse(body.as_bytes()).unwrap();
        assert_eq!(
            signal,
            Signal::MarketoMember(MarketoMember {
                lead_id: 42,
                program_id: 1001,
                email: Some("a@example.com".into()),
                status: None,
                trigger: None,
            })
        );
    }

    #[test]
    fn blank_action_means_a_program_member() {
        let signal = parse(br#"{"action": "", "leadId": 1, "programId": 2}"#).unwrap();
        assert!(matches!(signal, Signal::MarketoMember(_)));
    }

    #[test]
    fn flow_actions_need_a_status_except_removal() {
        let remove = parse(
            br#"{"action": "remove_from_campaign", "leadId": "5", "campaignId": "701000000000001AAA"}"#,
        )
        .unwrap();
        let Signal::MarketoFlowAction(remove) = remove else {
            panic!("expected a flow action");
        };
        assert_eq!(remove.action, FlowActionKind::RemoveFromCampaign);
        assert_eq!(remove.status, None);
        for action in ["add_to_campaign", "change_campaign_status"] {
            let body = format!(
                r#"{{"action": "{action}", "leadId": "5", "campaignId": "701000000000001AAA", "status": ""}}"#
            );
            assert_eq!(field_of(&body).as_deref(), Some("status"));
        }
    }

    #[test]
    fn over_long_fields_are_refused_by_name() {
        let long = "x".repeat(256);
        for field in ["email", "status", "trigger"] {
            let body = format!(r#"{{"leadId": 1, "programId": 2, "{field}": "{long}"}}"#);
            assert_eq!(field_of(&body).as_deref(), Some(field));
        }
        let body = format!(
            r#"{{"action": "add_to_campaign", "leadId": 1, "campaignId": "701000000000001", "status": "{}"}}"#,
            "s".repeat(41)
        );
        assert_eq!(field_of(&body).as_deref(), Some("status"));
    }

    #[test]
    fn an_email_that_is_not_an_address_is_refused_by_name() {
        for bad in ["a%40b.com", "ab.com", "a b@c.com", "@b.com"] {
            let body = format!(r#"{{"leadId": 1, "programId": 2, "email": "{bad}"}}"#);
            assert_eq!(field_of(&body).as_deref(), Some("email"), "{bad}");
            // The encoding hint only where a `%` shows an undeclared URL encoding.
            let Err(refused) = parse(body.as_bytes()) else {
                unreachable!()
            };
            let hinted = refused.to_string().contains("?encoding=url");
            assert_eq!(hinted, bad.contains('%'), "{bad}: {refused}");
        }
        // Addresses Marketo keeps, a domain without a dot among them.
        for good in ["o'brien+x@mail.example.com", "bob@localhost"] {
            let body = format!(r#"{{"leadId": 1, "programId": 2, "email": "{good}"}}"#);
            assert!(parse(body.as_bytes()).is_ok(), "{good}");
        }
    }

    #[test]
    fn bad_bodies_name_the_field_or_the_body() {
        assert_eq!(field_of("{not json"), None);
        assert_eq!(field_of("[1, 2]"), None);
        assert_eq!(field_of(r#"{"programId": 1}"#).as_deref(), Some("leadId"));
        assert_eq!(field_of(r#"{"leadId": 1}"#).as_deref(), Some("programId"));
        assert_eq!(
            field_of(r#"{"action": "subscribe", "leadId": 1}"#).as_deref(),
            Some("action")
        );
        assert_eq!(
            field_of(r#"{"action": "remove_from_campaign", "leadId": 1}"#).as_deref(),
            Some("campaignId")
        );
    }
}
