//! Property tests of the outbound-message parser: generated messages, rendered in any style the
//! real senders use, parse back to what was generated, and arbitrary bytes never panic.

use proptest::prelude::*;

use super::*;
use crate::http::inbound::salesforce::render::{RenderStyle, render_with};

fn sf_id() -> impl Strategy<Value = String> {
    ("[a-zA-Z0-9]{15}", any::<bool>()).prop_map(|(short, long)| {
        if long {
            crate::ids::SalesforceId::parse(&short).unwrap().long()
        } else {
            short
        }
    })
}

/// Text Salesforce could send: letters, digits, punctuation including XML's specials, non-ASCII.
fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-zA-Z0-9 .@&<>'\"_:;/+é中-]{1,24}")
        .prop_map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

/// A date-time as Salesforce writes it, or none.
fn datetime() -> impl Strategy<Value = Option<String>> {
    let parts = (
        2000..2100u32,
        1..=12u32,
        1..=28u32,
        0..24u32,
        0..60u32,
        0..60u32,
    );
    proptest::option::of(parts.prop_map(|(y, mo, d, h, mi, s)| {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
    }))
}

fn member_fields() -> impl Strategy<Value = CampaignMemberFields> {
    (
        sf_id(),
        (
            // Required: a member without its campaign is set aside.
            sf_id().prop_map(Some),
            proptest::option::of(sf_id()),
            proptest::option::of(sf_id()),
        ),
        (text(), text(), proptest::option::of(any::<bool>())),
        (datetime(), datetime(), datetime()),
    )
        .prop_map(
            |(
                id,
                (campaign_id, lead_id, contact_id),
                (email, status, has_responded),
                (created_date, last_modified_date, system_modstamp),
            )| {
                CampaignMemberFields {
                    id,
                    campaign_id,
                    lead_id,
                    contact_id,
                    email,
                    status,
                    has_responded,
                    created_date,
                    last_modified_date,
                    system_modstamp,
                }
            },
        )
}

fn notification() -> impl Strategy<Value = Notification> {
    let object = prop_oneof![
        3 => member_fields().prop_map(NotifiedObject::CampaignMember),
        1 => Just(NotifiedObject::Vanished),
        1 => "[A-Z][a-zA-Z]{0,10}(__c)?".prop_filter("not CampaignMember", |t| t != "CampaignMember")
            .prop_map(|sobject_type| NotifiedObject::Other { sobject_type }),
    ];
    (sf_id(), object).prop_map(|(id, object)| Notification::new(id, object))
}

fn message() -> impl Strategy<Value = OutboundMessage> {
    (
        (sf_id(), sf_id(), text()),
        (text(), text()),
        proptest::collection::vec(notification(), 1..=MAX_NOTIFICATIONS),
    )
        .prop_map(
            |(
                (organization_id, action_id, session_id),
                (enterprise_url, partner_url),
                notifications,
            )| {
                OutboundMessage {
                    organization_id,
                    action_id,
                    session_id,
                    enterprise_url,
                    partner_url,
                    notifications,
                    rejected: Vec::new(),
                    repeats: 0,
                }
            },
        )
}

fn style() -> impl Strategy<Value = RenderStyle> {
    (
        "[a-z][a-z0-9]{0,7}",
        "[a-z][a-z0-9]{0,7}",
        proptest::option::of("[a-z][a-z0-9]{0,7}"),
        any::<(bool, bool, bool)>(),
    )
        .prop_filter("prefixes differ", |(soap, sf, om, _)| {
            soap != sf
                && om.as_ref().is_none_or(|om| om != soap && om != sf)
                && ![soap, sf].iter().any(|p| p.starts_with("xml"))
                && om.as_ref().is_none_or(|om| !om.starts_with("xml"))
                && ![soap.as_str(), sf.as_str()].contains(&"xsi")
                && ![soap.as_str(), sf.as_str()].contains(&"xsd")
                && om.as_deref() != Some("xsi")
                && om.as_deref() != Some("xsd")
        })
        .prop_map(
            |(
                soap_prefix,
                sobject_prefix,
                outbound_prefix,
                (xml_declaration, byte_order_mark, pretty),
            )| {
                RenderStyle {
                    soap_prefix,
                    sobject_prefix,
                    outbound_prefix,
                    xml_declaration,
                    byte_order_mark,
                    pretty,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_messages_parse_back_to_what_was_generated(message in message(), style in style()) {
        let body = render_with(&message, &style);
        // A member without Status also carries its XML as sent, which the generator cannot
        // know; that it is there is tested on its own.
        let parsed = parse_notifications(body.as_bytes()).map(|mut parsed| {
            parsed.notifications.iter_mut().for_each(|n| n.raw = None);
            parsed
        });
        prop_assert_eq!(parsed, Ok(message));
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_notifications(&body);
    }
}
