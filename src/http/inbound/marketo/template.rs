//! The webhook templates to paste into Marketo, and a renderer that fills them the way Marketo
//! does with Request Token Encoding JSON, so the README, the simulator and the receiver agree.
//!
//! Tokens are written unquoted: with JSON encoding Marketo emits each value as a quoted, escaped
//! JSON string (`{{lead.Id}}` becomes `"42"`) and an empty token as `""`.

use crate::signal::FlowActionKind;

/// Template of the "program member changed" webhook, called from a "Program Status is Changed"
/// trigger campaign. A campaign may add `"status": "Registered"` as literal text.
pub const PROGRAM_MEMBER_TEMPLATE: &str = r#"{"leadId": {{lead.Id}}, "programId": {{program.id}}, "email": {{lead.Email Address}}, "trigger": {{trigger.Trigger Name}}}"#;

/// Template of one flow-action webhook: the action, campaign and status are literal text chosen
/// per smart campaign; only the person comes from tokens. `status` is needed for
/// `add_to_campaign` and `change_campaign_status`, and left out when `None`.
pub fn flow_action_template(
    action: FlowActionKind,
    campaign_id: &str,
    status: Option<&str>,
) -> String {
    let action = match action {
        FlowActionKind::AddToCampaign => "add_to_campaign",
        FlowActionKind::RemoveFromCampaign => "remove_from_campaign",
        FlowActionKind::ChangeCampaignStatus => "change_campaign_status",
    };
    let mut template = format!(
        r#"{{"action": "{action}", "leadId": {{{{lead.Id}}}}, "email": {{{{lead.Email Address}}}}, "campaignId": {}"#,
        json_string(campaign_id)
    );
    if let Some(status) = status {
        template.push_str(&format!(r#", "status": {}"#, json_string(status)));
    }
    template.push('}');
    template
}

/// Fills every `{{name}}` with its value from `tokens` as a JSON string; a token without a value
/// renders as `""`, as Marketo renders an empty token. Text outside tokens is kept as written.
pub fn render(template: &str, tokens: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + 2 + len];
        let value = tokens
            .iter()
            .find(|(token, _)| *token == name)
            .map_or("", |(_, value)| *value);
        out.push_str(&json_string(value));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

/// [`PROGRAM_MEMBER_TEMPLATE`] as Marketo sends it for one person in one program.
pub fn render_program_member(
    lead_id: i64,
    program_id: i64,
    email: Option<&str>,
    trigger: Option<&str>,
) -> String {
    let lead_id = lead_id.to_string();
    let program_id = program_id.to_string();
    render(
        PROGRAM_MEMBER_TEMPLATE,
        &[
            ("lead.Id", &lead_id),
            ("program.id", &program_id),
            ("lead.Email Address", email.unwrap_or("")),
            ("trigger.Trigger Name", trigger.unwrap_or("")),
        ],
    )
}

fn json_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_member_renders_quoted_and_escaped_values() {
        let body = render_program_member(42, 1001, Some("a\"b@example.com"), None);
        assert_eq!(
            body,
            r#"{"leadId": "42", "programId": "1001", "email": "a\"b@example.com", "trigger": ""}"#
        );
    }

    #[test]
    fn flow_action_template_keeps_tokens_for_marketo() {
        let template = flow_action_template(
            FlowActionKind::AddToCampaign,
            "701000000000001AAA",
            Some("Sent"),
        );
        assert_eq!(
            template,
            r#"{"action": "add_to_campaign", "leadId": {{lead.Id}}, "email": {{lead.Email Address}}, "campaignId": "701000000000001AAA", "status": "Sent"}"#
        );
        let removal =
            flow_action_template(FlowActionKind::RemoveFromCampaign, "701000000000001", None);
        assert!(removal.ends_with(r#""campaignId": "701000000000001"}"#));
        assert_eq!(
            render(&removal, &[("lead.Id", "7")]),
            r#"{"action": "remove_from_campaign", "leadId": "7", "email": "", "campaignId": "701000000000001"}"#
        );
    }

    #[test]
    fn unterminated_token_is_left_as_written() {
        assert_eq!(render("a {{lead.Id", &[("lead.Id", "1")]), "a {{lead.Id");
    }
}
