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
    if is_utf8(named) {
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

/// UTF-8 by any of its names, or US-ASCII, which is a part of it.
fn is_utf8(name: &str) -> bool {
    ["utf-8", "utf8", "us-ascii", "ascii"]
        .iter()
        .any(|known| name.eq_ignore_ascii_case(known))
}

/// The `charset` a `Content-Type` header names when it is not UTF-8 (`ISO-8859-1`): such a
/// body is refused before it is read, saying so, rather than for its first byte UTF-8 refuses.
pub(super) fn not_utf8_charset(content_type: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(content_type);
    let charset = text.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
    })?;
    (!is_utf8(&charset)).then(|| charset.chars().take(40).collect())
}

#[cfg(test)]
mod tests {
    use super::not_utf8_charset;

    #[test]
    fn a_header_charset_other_than_utf8_is_named() {
        assert_eq!(not_utf8_charset(b"text/xml; charset=UTF-8"), None);
        assert_eq!(not_utf8_charset(b"text/xml;charset=\"utf-8\""), None);
        assert_eq!(not_utf8_charset(b"text/xml; charset=us-ascii"), None);
        assert_eq!(not_utf8_charset(b"text/xml"), None);
        assert_eq!(
            not_utf8_charset(b"text/xml; charset=ISO-8859-1").as_deref(),
            Some("ISO-8859-1")
        );
    }

    #[test]
    fn a_declaration_of_us_ascii_is_read_as_utf8() {
        use quick_xml::events::BytesDecl;
        assert!(super::only_utf8(&BytesDecl::new("1.0", Some("US-ASCII"), None)).is_ok());
        assert!(super::only_utf8(&BytesDecl::new("1.0", Some("windows-1252"), None)).is_err());
    }
}
