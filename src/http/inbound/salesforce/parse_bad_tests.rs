//! Unit tests of the outbound-message parser's refusals: malformed XML and message-level
//! problems answered with a fault (the notifications it sets aside are in `parse_tests.rs`).

use super::tests::{THREE, replace};
use super::*;

/// The action's id is not used: a suffix that does not match its first 15 (an anonymised
/// sample's) is let pass.
#[test]
fn the_action_id_needs_only_its_shape() {
    let body = replace(THREE, "04k5g0000004CmAAAU", "04k5g0000004CmABBB");
    let message = parse_notifications(&body).unwrap();
    assert_eq!(message.action_id, "04k5g0000004CmABBB");
    assert_eq!(message.notifications.len(), 3);
    let error = parse_notifications(&replace(THREE, "04k5g0000004CmAAAU", "04k5g0000004Cm-AAU"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("ActionId"), "{error}");
}

#[test]
fn bad_input_says_what_is_wrong() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not xml at all".to_vec(), "expected a SOAP 1.1 Envelope"),
        (b"".to_vec(), "missing required element Envelope"),
        (THREE[..THREE.len() - 40].to_vec(), "end"),
        (
            replace(THREE, "</sf:Status>", "</sf:Statu>"),
            "malformed XML",
        ),
        (
            replace(THREE, "<ActionId>04k5g0000004CmAAAU</ActionId>", ""),
            "ActionId",
        ),
        (
            replace(
                THREE,
                "soap.sforce.com/2005/09/outbound",
                "example.com/other",
            ),
            "notifications element",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Email>&xxe;"),
            "entity reference &xxe;",
        ),
        (
            replace(
                THREE,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
            ),
            "document type",
        ),
        (
            replace(THREE, "</soapenv:Envelope>", "</soapenv:Envelope><x/>"),
            "after the SOAP envelope",
        ),
        (replace(THREE, "<ActionId>", "<ActionId>xx"), "ActionId"),
        // Another encoding is named as such, not as the first byte UTF-8 refuses.
        (
            replace(THREE, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\""),
            "names encoding \"ISO-8859-1\"; only UTF-8",
        ),
        (utf16(THREE, true), "UTF-16; only UTF-8"),
        (utf16(THREE, false), "UTF-16; only UTF-8"),
        (
            replace(THREE, "<sf:Status>Sent", "<sf:Status>Se\0nt"),
            "U+0000 is not a character XML allows",
        ),
        (
            replace(THREE, "<sf:Status>Sent", "<sf:Status>Se&#0;nt"),
            "&#0; is not a character XML allows",
        ),
        (
            replace(THREE, "<sf:Status>Sent", "<sf:Status>Se&#x1b;nt"),
            "&#x1b; is not a character XML allows",
        ),
        (
            replace(THREE, "<sf:Email>", "<zz:Foo>1</zz:Foo><sf:Email>"),
            "the prefix \"zz\" is not bound to a namespace",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Foo qq:a=\"1\"/><sf:Email>"),
            "the prefix \"qq\" is not bound to a namespace",
        ),
        (
            replace(THREE, "<sf:Status>", "<sf:Status a=\"x\" a=\"x\">"),
            "malformed XML",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Foo a=\"<\"/><sf:Email>"),
            "an attribute value holds a raw '<'",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:1Foo/><sf:Email>"),
            "\"sf:1Foo\" is not an XML name",
        ),
        (
            [b" \n".as_slice(), THREE].concat(),
            "the XML declaration is not at the start of the document",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Foo a=\"&#0;\"/><sf:Email>"),
            "malformed XML",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Foo a=\"&#1;\"/><sf:Email>"),
            "is not a character XML allows",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Foo a=\"&foo;\"/><sf:Email>"),
            "malformed XML",
        ),
        (
            replace(THREE, "<sf:Email>", "<sf:Foo a=\"1&2\"/><sf:Email>"),
            "malformed XML",
        ),
    ];
    for (body, expected) in cases {
        let error = parse_notifications(&body).expect_err(expected).to_string();
        assert!(
            error.contains(expected),
            "{error:?} should mention {expected:?}"
        );
    }
}

/// `text` in UTF-16 (little-endian), with its byte order mark when `mark`.
fn utf16(text: &[u8], mark: bool) -> Vec<u8> {
    let mut bytes = if mark { vec![0xFF, 0xFE] } else { Vec::new() };
    for unit in String::from_utf8_lossy(text).encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}
