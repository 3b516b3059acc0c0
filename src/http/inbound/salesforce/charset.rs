//! The one character encoding an outbound message is read in, UTF-8 (Salesforce's), and the
//! words for a body in another.

use super::message::ParseError;

/// Salesforce sends UTF-8, the one encoding read here: a UTF-16 body (its byte order mark, or
/// a zero byte beside its first `<`) is refused saying so, not for the zero byte it holds; read
/// before anything else.
pub(super) fn not_utf16(body: &[u8]) -> Result<(), ParseError> {
    let utf16 = body.starts_with(b"\xFF\xFE")
        || body.starts_with(b"\xFE\xFF")
        || body.starts_with(b"<\0")
        || body.starts_with(b"\0<");
    if utf16 {
        return Err(ParseError::Malformed {
            position: 0,
            message: "the message is UTF-16; only UTF-8 is accepted (Salesforce sends UTF-8)"
                .into(),
        });
    }
    Ok(())
}

/// A declaration naming another encoding than UTF-8 is refused naming it: its bytes would be
/// read as UTF-8 and refused for the first one that is not.
pub(super) fn only_utf8(declaration: &quick_xml::events::BytesDecl<'_>) -> Result<(), ParseError> {
    let Some(Ok(encoding)) = declaration.encoding() else {
        return Ok(());
    };
    let named = encoding.trim();
    if named.eq_ignore_ascii_case("utf-8") || named.eq_ignore_ascii_case("utf8") {
        return Ok(());
    }
    Err(ParseError::Malformed {
        position: 0,
        message: format!(
            "the declaration names encoding {named:?}; only UTF-8 is accepted (Salesforce sends \
             UTF-8)"
        ),
    })
}
