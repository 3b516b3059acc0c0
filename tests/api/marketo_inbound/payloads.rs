//! Both payload kinds, as the README's templates make Marketo send them.

use campaign_sync::http::inbound::marketo::{
    PROGRAM_MEMBER_TEMPLATE, flow_action_template, render, render_program_member,
};
use campaign_sync::signal::{FlowAction, FlowActionKind, MarketoMember, Signal};

use super::{accepted, post, spawn, spawn_with, stored};
use crate::test_app::TestDb;

const CAMPAIGN: &str = "701000000000001AAA";

#[tokio::test]
async fn program_member_from_the_template_becomes_one_signal() {
    for db in TestDb::all().await {
        let app = spawn_with(db, |_| {}).await;
        let body = render_program_member(
            42,
            1001,
            Some("Ann@Example.com"),
            Some("Program Status is Changed"),
        );
        let id = accepted(post(&app, body).await).await;
        let signals = stored(&app).await;
        assert_eq!(signals.len(), 1);
        assert_eq!(signals[0].id, id);
        assert_eq!(
            signals[0].signal,
            Signal::MarketoMember(MarketoMember {
                lead_id: 42,
                program_id: 1001,
                email: Some("Ann@Example.com".into()),
                status: None,
                trigger: Some("Program Status is Changed".into()),
            })
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn numbers_literal_status_empty_tokens_and_unknown_fields() {
    let app = spawn().await;
    let body = r#"{"leadId": 7, "programId": 1002, "email": "", "trigger": "", "status": "Registered", "programName": "Webinar"}"#;
    accepted(post(&app, body).await).await;
    let signals = stored(&app).await;
    assert_eq!(
        signals[0].signal,
        Signal::MarketoMember(MarketoMember {
            lead_id: 7,
            program_id: 1002,
            email: None,
            status: Some("Registered".into()),
            trigger: None,
        })
    );
}

#[tokio::test]
async fn content_type_is_ignored_and_a_bom_is_skipped() {
    let app = spawn().await;
    let body = render_program_member(1, 1001, None, None);
    for content_type in [
        "text/plain",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
    ] {
        let response = app
            .client
            .post(app.url(super::PATH))
            .header("authorization", format!("Bearer {}", super::TOKEN))
            .header("content-type", content_type)
            .body(render_program_member(2, 1001, None, Some(content_type)))
            .send()
            .await
            .unwrap();
        accepted(response).await;
    }
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(body.as_bytes());
    accepted(post(&app, with_bom).await).await;
    assert_eq!(stored(&app).await.len(), 4);
}

#[tokio::test]
async fn each_flow_action_becomes_one_signal() {
    let app = spawn().await;
    let cases = [
        (FlowActionKind::AddToCampaign, Some("Registered")),
        (FlowActionKind::RemoveFromCampaign, None),
        (FlowActionKind::ChangeCampaignStatus, Some("Attended")),
    ];
    for (action, status) in cases {
        let template = flow_action_template(action, CAMPAIGN, status);
        let body = render(
            &template,
            &[("lead.Id", "99"), ("lead.Email Address", "b@example.com")],
        );
        accepted(post(&app, body).await).await;
    }
    let signals: Vec<Signal> = stored(&app).await.into_iter().map(|c| c.signal).collect();
    let expected: Vec<Signal> = cases
        .iter()
        .map(|(action, status)| {
            Signal::MarketoFlowAction(FlowAction {
                action: *action,
                lead_id: 99,
                email: Some("b@example.com".into()),
                campaign_id: CAMPAIGN.into(),
                status: status.map(str::to_string),
            })
        })
        .collect();
    assert_eq!(signals, expected);
}

#[tokio::test]
async fn the_answer_is_small_json() {
    let app = spawn().await;
    let response = post(&app, render_program_member(3, 1001, None, None)).await;
    assert_eq!(response.status(), 202);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body = super::json(response).await;
    assert_eq!(body["duplicate"], false);
    assert!(body.to_string().len() < 100);
}

#[tokio::test]
async fn a_literal_status_added_to_the_template_is_kept() {
    let app = spawn().await;
    let template = PROGRAM_MEMBER_TEMPLATE
        .strip_suffix('}')
        .map(|open| format!(r#"{open}, "status": "Registered"}}"#))
        .unwrap();
    let body = render(&template, &[("lead.Id", "11"), ("program.id", "1003")]);
    accepted(post(&app, body).await).await;
    let Signal::MarketoMember(member) = &stored(&app).await[0].signal else {
        panic!("expected a program member");
    };
    assert_eq!((member.lead_id, member.program_id), (11, 1003));
    assert_eq!(member.status.as_deref(), Some("Registered"));
}

/// The README is what operators paste into Marketo; it must show the templates the code parses.
#[test]
fn the_readme_shows_the_exact_templates() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let expected = [
        PROGRAM_MEMBER_TEMPLATE.to_string(),
        flow_action_template(FlowActionKind::AddToCampaign, CAMPAIGN, Some("Registered")),
        flow_action_template(FlowActionKind::RemoveFromCampaign, CAMPAIGN, None),
        flow_action_template(
            FlowActionKind::ChangeCampaignStatus,
            CAMPAIGN,
            Some("Attended"),
        ),
    ];
    for template in expected {
        assert!(
            readme.contains(&format!("`{template}`")),
            "README lacks {template}"
        );
    }
}
