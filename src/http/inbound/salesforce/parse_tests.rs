//! Unit tests of the outbound-message parser: fixtures, rejected notifications, bounds (the
//! message-level refusals are in `parse_bad_tests.rs`).

use super::*;
use crate::http::inbound::salesforce::render::{RenderStyle, render_with};

pub(super) const THREE: &[u8] =
    include_bytes!("../../../../tests/fixtures/salesforce/campaign_members_3.xml");
const BOM: &[u8] =
    include_bytes!("../../../../tests/fixtures/salesforce/campaign_member_session_bom.xml");
const MIXED: &[u8] = include_bytes!("../../../../tests/fixtures/salesforce/mixed_objects.xml");
const EMPTY: &[u8] =
    include_bytes!("../../../../tests/fixtures/salesforce/empty_notifications.xml");

fn member(notification: &Notification) -> &CampaignMemberFields {
    match &notification.object {
        NotifiedObject::CampaignMember(m) => m,
        other => panic!("expected a CampaignMember, got {other:?}"),
    }
}

#[test]
fn reads_every_notification_and_omitted_fields_stay_unknown() {
    let message = parse_notifications(THREE).unwrap();
    assert_eq!(message.organization_id, "00D5g00000LmNoPEAV");
    assert_eq!(message.action_id, "04k5g0000004CmAAAU");
    assert_eq!(message.session_id, None);
    assert_eq!(message.notifications.len(), 3);
    let first = member(&message.notifications[0]);
    assert_eq!(message.notifications[0].id, "04l5g00000AbC01AAF");
    assert_eq!(first.id, "00v5g00000Qw1aaAAB");
    assert_eq!(first.lead_id.as_deref(), Some("00Q5g00000Hh7tTEAR"));
    assert_eq!(first.contact_id, None);
    assert_eq!(first.has_responded, Some(false));
    assert_eq!(
        first.system_modstamp.as_deref(),
        Some("2026-11-02T09:15:01.000Z")
    );
    let second = member(&message.notifications[1]);
    assert_eq!(second.contact_id.as_deref(), Some("0035g00000Kk2uUAAR"));
    assert_eq!(second.has_responded, Some(true));
    assert_eq!(member(&message.notifications[2]).email, None);
}

#[test]
fn prefixes_bom_entities_and_cdata_do_not_matter() {
    let message = parse_notifications(BOM).unwrap();
    assert_eq!(
        message.session_id.as_deref(),
        Some("00D5g00000LmNoP!AQ4AQFakeSessionTokenForTestsOnly.x9Zq")
    );
    let m = member(&message.notifications[0]);
    assert_eq!(m.email.as_deref(), Some("o'brien&co@example.com"));
    assert_eq!(m.status.as_deref(), Some("Registered <VIP>"));
    assert_eq!(m.created_date, None);
    assert_eq!(m.has_responded, None);
}

#[test]
fn other_object_types_are_named() {
    let message = parse_notifications(MIXED).unwrap();
    let types: Vec<_> = message
        .notifications
        .iter()
        .map(|n| match &n.object {
            NotifiedObject::CampaignMember(_) => "CampaignMember".to_string(),
            NotifiedObject::Vanished => "deleted CampaignMember".to_string(),
            NotifiedObject::Other { sobject_type } => sobject_type.clone(),
        })
        .collect();
    assert_eq!(types, ["Contact", "CampaignMember", "Event_Booking__c"]);
}

#[test]
fn an_empty_notifications_element_is_missing_its_required_elements() {
    assert_eq!(
        parse_notifications(EMPTY),
        Err(ParseError::Missing("OrganizationId"))
    );
}

pub(super) fn replace(fixture: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(fixture).unwrap();
    assert!(text.contains(from), "fixture lacks {from:?}");
    text.replacen(from, to, 1).into_bytes()
}

/// The fixture with the first member's fields in a namespace other than the sObject's.
fn foreign_fields() -> Vec<u8> {
    let text = std::str::from_utf8(THREE).unwrap();
    let start = text.find("<sf:Id>").unwrap();
    let end = text.find("</sObject>").unwrap();
    let fields = text[start..end]
        .replace("<sf:", "<x:")
        .replace("</sf:", "</x:");
    let sobject = "xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">";
    let open = text[..start].rfind(sobject).unwrap();
    format!(
        "{}xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\" xmlns:x=\"urn:other\">{fields}{}",
        &text[..open],
        &text[end..]
    )
    .into_bytes()
}

#[test]
fn a_notification_that_cannot_be_understood_is_set_aside_with_its_reason() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            replace(THREE, "<Id>04l5g00000AbC01AAF</Id>", ""),
            "Notification/Id",
        ),
        (
            replace(THREE, "<sf:Id>00v5g00000Qw1aaAAB</sf:Id>", ""),
            "sObject/Id",
        ),
        (replace(THREE, ">false<", ">maybe<"), "HasResponded"),
        (
            replace(THREE, "<sf:Status>Sent", "<sf:Status><x/>Sent"),
            "unexpected element <x> inside <Status>",
        ),
        (
            replace(
                THREE,
                "<Id>04l5g00000AbC01AAF",
                "<Id><x/>04l5g00000AbC01AAF",
            ),
            "Notification/Id",
        ),
        (
            replace(
                THREE,
                "<sf:HasResponded>false",
                "<sf:HasResponded><b>false</b>",
            ),
            "unexpected element <b> inside <HasResponded>",
        ),
        (
            replace(THREE, " xsi:type=\"sf:CampaignMember\"", ""),
            "xsi:type",
        ),
        (
            replace(THREE, "sf:CampaignMember", "sf:Campaign&quot;Member"),
            "not an sObject API name",
        ),
        (
            replace(
                THREE,
                "<sf:Status>Sent</sf:Status>",
                "<sf:Status>A</sf:Status><sf:Status>B</sf:Status>",
            ),
            "more than once",
        ),
        (
            replace(
                THREE,
                "<sf:CampaignId>7015g000000Zx9kAAC",
                "<sf:CampaignId>aaaaaaaaaaaaaaé",
            ),
            "CampaignId \"aaaaaaaaaaaaaaé\" is not a Salesforce id",
        ),
        (
            replace(
                THREE,
                "<Id>04l5g00000AbC01AAF</Id>",
                "<Id>04l5g00000AbC01AAA</Id>",
            ),
            "do not match",
        ),
        (
            replace(
                THREE,
                "<sf:Status>Sent</sf:Status>",
                &format!("<sf:Status>{}</sf:Status>", "x".repeat(41)),
            ),
            "Status is 41 characters long; Salesforce allows at most 40",
        ),
        (
            replace(
                THREE,
                "<sf:SystemModstamp>2026-11-02T09:15:01.000Z",
                "<sf:SystemModstamp>not-a-date",
            ),
            "SystemModstamp \"not-a-date\" is invalid: not a date-time",
        ),
        (
            replace(
                THREE,
                "<sf:CreatedDate>2026-11-02T09:15:00.000Z",
                "<sf:CreatedDate>2026-13-45T99:00:00Z",
            ),
            "CreatedDate",
        ),
        (
            replace(
                THREE,
                "<sf:CampaignId>7015g000000Zx9kAAC</sf:CampaignId>",
                "",
            ),
            "has no CampaignId, which the sync needs: add CampaignId to the outbound message's fields",
        ),
        (
            replace(
                THREE,
                "<sf:CampaignId>7015g000000Zx9kAAC</sf:CampaignId>",
                "<sf:CampaignId xsi:nil=\"true\"/>",
            ),
            "has no CampaignId",
        ),
        // Fields in a namespace not Salesforce's: not a member deleted before delivery.
        (foreign_fields(), "sObject/Id"),
        // A CampaignMember typed outside Salesforce's namespace: not another object's.
        (
            replace(
                THREE,
                "xsi:type=\"sf:CampaignMember\"",
                "xsi:type=\"CampaignMember\"",
            ),
            "type prefix is not bound to urn:sobject.enterprise.soap.sforce.com",
        ),
    ];
    for (body, expected) in cases {
        let message = parse_notifications(&body).expect(expected);
        assert_eq!(message.notifications.len(), 2, "{expected}");
        let [rejected] = message.rejected.as_slice() else {
            panic!("one notification should be rejected for {expected}");
        };
        let reason = rejected.reason.to_string();
        assert!(
            reason.contains(expected),
            "{reason:?} should mention {expected:?}"
        );
        assert!(
            rejected.raw.starts_with("<Notification>"),
            "{}",
            rejected.raw
        );
        assert!(
            rejected.raw.ends_with("</Notification>"),
            "{}",
            rejected.raw
        );
    }
}

#[test]
fn whitespace_around_values_is_not_part_of_them() {
    let text = std::str::from_utf8(THREE).unwrap();
    let pretty = text
        .replace(
            "<Id>04l5g00000AbC01AAF</Id>",
            "<Id>\n  04l5g00000AbC01AAF\n</Id>",
        )
        .replace(
            "<sf:Id>00v5g00000Qw1aaAAB<",
            "<sf:Id>\n   00v5g00000Qw1aaAAB\n  <",
        )
        .replace("<sf:Status>Sent<", "<sf:Status> Sent\t<");
    let message = parse_notifications(pretty.as_bytes()).unwrap();
    let first = &message.notifications[0];
    assert_eq!(first.id, "04l5g00000AbC01AAF");
    assert_eq!(member(first).id, "00v5g00000Qw1aaAAB");
    assert_eq!(member(first).status.as_deref(), Some("Sent"));
}

#[test]
fn an_over_long_field_is_quoted_only_in_part() {
    let body = replace(
        THREE,
        "<sf:Email>",
        &format!("<sf:Email>{}", "é".repeat(500_000)),
    );
    let message = parse_notifications(&body).unwrap();
    let [rejected] = message.rejected.as_slice() else {
        panic!("the notification with the long Email should be rejected");
    };
    assert!(rejected.reason.to_string().contains("Email is 500"));
    assert!(rejected.raw.len() < 17 * 1024, "{}", rejected.raw.len());
    assert!(rejected.raw.ends_with("bytes in all)"));
}

#[test]
fn nesting_is_bounded() {
    let deep = "<a>".repeat(10_000);
    let body = replace(
        THREE,
        "<sf:Email>",
        &format!("<sf:Extension>{deep}<sf:Email>"),
    );
    assert_eq!(
        parse_notifications(&body),
        Err(ParseError::TooDeep(super::super::xml::MAX_DEPTH))
    );
}

#[test]
fn one_hundred_notifications_parse_and_one_hundred_and_one_do_not() {
    let mut message = parse_notifications(THREE).unwrap();
    let template = message.notifications[0].clone();
    message.notifications = (0..100)
        .map(|i| Notification {
            id: crate::ids::SalesforceId::parse(&format!("04l5g00000X{i:04}"))
                .unwrap()
                .long(),
            ..template.clone()
        })
        .collect();
    let body = render_with(&message, &RenderStyle::default());
    assert_eq!(parse_notifications(body.as_bytes()).unwrap(), message);
    message.notifications.push(template);
    let body = render_with(&message, &RenderStyle::default());
    assert_eq!(
        parse_notifications(body.as_bytes()),
        Err(ParseError::TooManyNotifications)
    );
}

#[test]
fn a_notification_ids_two_forms_are_one_key() {
    use crate::http::inbound::salesforce::dedup_key;
    assert_eq!(
        dedup_key("04l5g00000AbC01"),
        dedup_key("04l5g00000AbC01AAF")
    );
    assert_eq!(
        dedup_key("04l5g00000AbC01AAF"),
        "sf:notification:04l5g00000AbC01AAF"
    );
}

/// The same notification id twice in one message: the first stands, as across redeliveries,
/// whether it was understood or set aside.
#[test]
fn a_repeated_notification_id_keeps_the_first() {
    let twice = replace(
        THREE,
        "<Id>04l5g00000AbC02AAF</Id>",
        "<Id>04l5g00000AbC01AAF</Id>",
    );
    let message = parse_notifications(&twice).unwrap();
    let ids: Vec<&str> = message
        .notifications
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(ids, ["04l5g00000AbC01AAF", "04l5g00000AbC03AAF"]);
    assert_eq!(message.repeats, 1, "counted as a duplicate");
    assert_eq!(
        member(&message.notifications[0]).status.as_deref(),
        Some("Sent")
    );
    // Set aside first (no sObject Id), then understood: the set-aside one stands.
    let rejected_first = replace(&twice, "<sf:Id>00v5g00000Qw1aaAAB</sf:Id>", "");
    let message = parse_notifications(&rejected_first).unwrap();
    assert_eq!((message.rejected.len(), message.repeats), (1, 1));
    let ids: Vec<&str> = message
        .notifications
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(ids, ["04l5g00000AbC03AAF"]);
}
