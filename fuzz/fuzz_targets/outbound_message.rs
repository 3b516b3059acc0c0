//! Fuzzes the outbound-message parser: any bytes must give a message or an error, never a
//! panic, and whatever parses must survive a render → parse round trip unchanged.
#![no_main]

use campaign_sync::http::inbound::salesforce::{
    NotifiedObject, parse_notifications, render_outbound_message,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(message) = parse_notifications(body) else {
        return;
    };
    // A non-CampaignMember type named "CampaignMember" in a foreign namespace has no distinct
    // rendering (the renderer always uses the sObject namespace).
    let representable = message.notifications.iter().all(|n| {
        !matches!(&n.object, NotifiedObject::Other { sobject_type } if sobject_type == "CampaignMember")
    });
    if representable {
        let rendered = render_outbound_message(&message);
        assert_eq!(parse_notifications(rendered.as_bytes()), Ok(message));
    }
});
