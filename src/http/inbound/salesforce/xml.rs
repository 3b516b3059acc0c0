//! A guarded pull reader over quick-xml: resolves namespaces, refuses DTDs and unknown entities,
//! bounds nesting depth and attribute size, and reports positions in its errors.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, QName, ResolveResult};
use quick_xml::reader::NsReader;

use super::message::ParseError;

/// Deeper than any outbound message (envelope → body → notifications → notification → sObject →
/// field is 6), with room for unknown extensions; bounds work and memory on hostile input.
pub(super) const MAX_DEPTH: usize = 32;

/// Longest attribute section of one tag. Real tags carry a few namespace declarations; the bound
/// keeps attribute scanning linear on hostile input.
const MAX_ATTRIBUTES_BYTES: usize = 4096;

pub(super) const SOAP_ENVELOPE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub(super) const OUTBOUND: &str = "http://soap.sforce.com/2005/09/outbound";
pub(super) const SOBJECT: &str = "urn:sobject.enterprise.soap.sforce.com";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The namespaces the parser cares about; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    Soap,
    Outbound,
    SObject,
    Other,
}

impl Ns {
    fn of(resolved: &ResolveResult<'_>) -> Ns {
        match resolved {
            ResolveResult::Bound(Namespace(SOAP_ENVELOPE)) => Ns::Soap,
            ResolveResult::Bound(Namespace(OUTBOUND)) => Ns::Outbound,
            ResolveResult::Bound(Namespace(SOBJECT)) => Ns::SObject,
            _ => Ns::Other,
        }
    }
}

/// An opened element, its name resolved to a namespace.
#[derive(Debug)]
pub(super) struct Element {
    pub ns: Ns,
    pub local: String,
    /// `xsi:nil="true"`.
    pub nil: bool,
    /// `xsi:type`, its prefix resolved: `(namespace, local name)`.
    pub xsi_type: Option<(Ns, String)>,
}

impl Element {
    pub fn is(&self, ns: Ns, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
}

pub(super) enum Node<'i> {
    Open(Element),
    Close,
    Text(Cow<'i, str>),
    Eof,
}

pub(super) struct XmlReader<'i> {
    xml: NsReader<&'i [u8]>,
    /// The body as read (without a BOM), so a part of it can be quoted by position.
    body: &'i [u8],
    /// Where the last event read began: the `<` of an element just opened.
    event_start: u64,
    depth: usize,
    /// An empty element `<a/>` was returned as `Open`; its `Close` comes next.
    pending_close: bool,
}

impl<'i> XmlReader<'i> {
    pub fn new(body: &'i [u8]) -> Self {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        XmlReader {
            xml: NsReader::from_reader(body),
            body,
            event_start: 0,
            depth: 0,
            pending_close: false,
        }
    }

    /// The next structural node; comments, processing instructions and the declaration are
    /// skipped. Entity and character references come back as text.
    pub fn next(&mut self) -> Result<Node<'i>, ParseError> {
        if self.pending_close {
            self.pending_close = false;
            self.depth -= 1;
            return Ok(Node::Close);
        }
        loop {
            self.event_start = self.xml.buffer_position();
            let event = self.xml.read_event().map_err(|e| self.malformed(e))?;
            match event {
                Event::Start(start) => return self.open(&start),
                Event::Empty(start) => {
                    let element = self.open(&start)?;
                    self.pending_close = true;
                    return Ok(element);
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Node::Close);
                }
                Event::Text(text) => return Ok(Node::Text(text.xml10_content())),
                Event::CData(data) => return Ok(Node::Text(data.xml10_content())),
                Event::GeneralRef(reference) => {
                    return Ok(Node::Text(Cow::Owned(resolve_reference(&reference)?)));
                }
                Event::DocType(_) => return Err(ParseError::Dtd),
                Event::Eof if self.depth > 0 => {
                    return Err(ParseError::Malformed {
                        position: self.xml.buffer_position(),
                        message: "the document ends inside an element".into(),
                    });
                }
                Event::Eof => return Ok(Node::Eof),
                // The declaration, when there is one, opens the document (only a BOM, already
                // stripped, may come before it).
                Event::Decl(_) if self.event_start > 0 => {
                    return Err(ParseError::Malformed {
                        position: self.event_start,
                        message: "the XML declaration is not at the start of the document".into(),
                    });
                }
                Event::Decl(declaration) => super::charset::only_utf8(&declaration)?,
                Event::Comment(_) | Event::PI(_) => {}
            }
        }
    }

    /// Where the element whose `Open` was just returned begins.
    pub fn opened_at(&self) -> u64 {
        self.event_start
    }

    /// The body from `start` to where reading has got, as text, at most `max` bytes of it
    /// (cut at a character boundary).
    pub fn quote(&self, start: u64, max: usize) -> String {
        let start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        let end = usize::try_from(self.xml.buffer_position())
            .unwrap_or(usize::MAX)
            .clamp(start, self.body.len());
        let text = String::from_utf8_lossy(&self.body[start..end]);
        if text.len() <= max {
            return text.into_owned();
        }
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes in all)", &text[..cut], end - start)
    }

    /// Reads past the end of the element whose `Open` was just returned.
    pub fn skip(&mut self) -> Result<(), ParseError> {
        let target = self.depth - 1;
        while self.depth > target {
            if let Node::Eof = self.next()? {
                break;
            }
        }
        Ok(())
    }

    /// The text of the element whose `Open` was just returned, up to its end; a child element
    /// is an error because every field the parser reads is a simple value.
    pub fn text(&mut self, element: &Element) -> Result<String, ParseError> {
        let mut value = String::new();
        loop {
            match self.next()? {
                Node::Text(text) => value.push_str(&text),
                // Salesforce writes values without surrounding whitespace; a pretty-printed
                // body's would otherwise become part of an id or a status.
                Node::Close => return Ok(trimmed(value)),
                Node::Open(child) => {
                    return Err(ParseError::Unexpected {
                        found: child.local,
                        inside: element.local.clone(),
                    });
                }
                Node::Eof => return Err(self.ends_early()),
            }
        }
    }

    pub fn ends_early(&self) -> ParseError {
        ParseError::Malformed {
            position: self.xml.buffer_position(),
            message: "the document ends early".into(),
        }
    }

    fn open(&mut self, start: &BytesStart<'_>) -> Result<Node<'i>, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep(MAX_DEPTH));
        }
        if start.attributes_raw().len() > MAX_ATTRIBUTES_BYTES {
            return Err(ParseError::Malformed {
                position: self.xml.buffer_position(),
                message: format!("attributes longer than {MAX_ATTRIBUTES_BYTES} bytes"),
            });
        }
        let resolver = self.xml.resolver();
        let (resolved, local) = resolver.resolve_element(start.name());
        let qname = start.name();
        let name: &str = qname.as_ref();
        if !is_xml_name(name) {
            return Err(self.bad_tag(format!("{name:?} is not an XML name")));
        }
        if let ResolveResult::Unknown(prefix) = &resolved {
            return Err(self.unbound(prefix));
        }
        let mut element = Element {
            ns: Ns::of(&resolved),
            local: local.as_ref().to_string(),
            nil: false,
            xsi_type: None,
        };
        // Checked: an attribute given twice is malformed.
        for attribute in start.attributes().with_checks(true) {
            let attribute = attribute.map_err(|e| self.bad_tag(e.to_string()))?;
            let key: &str = attribute.key.as_ref();
            if !is_xml_name(key) {
                return Err(self.bad_tag(format!("{key:?} is not an attribute name")));
            }
            if attribute.value.contains('<') {
                return Err(self.bad_tag("an attribute value holds a raw '<'".into()));
            }
            let (ns, name) = resolver.resolve_attribute(attribute.key);
            if let ResolveResult::Unknown(prefix) = &ns {
                return Err(self.unbound(prefix));
            }
            // Every value's references are read, as in text: an unknown entity or a character
            // XML does not allow is malformed wherever it is.
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| self.bad_tag(e.to_string()))?;
            if let Some(c) = value.chars().find(|c| !xml_char(*c)) {
                return Err(ParseError::ForbiddenCharacter(format!(
                    "U+{:04X} in an attribute",
                    u32::from(c)
                )));
            }
            if ns != ResolveResult::Bound(Namespace(XSI)) {
                continue;
            }
            match name.as_ref() {
                "nil" => element.nil = matches!(value.trim(), "true" | "1"),
                "type" => {
                    let (type_local, prefix) = QName(value.trim()).decompose();
                    let type_ns = Ns::of(&resolver.resolve_prefix(prefix, true));
                    element.xsi_type = Some((type_ns, type_local.as_ref().to_string()));
                }
                _ => {}
            }
        }
        Ok(Node::Open(element))
    }

    fn malformed(&self, error: quick_xml::Error) -> ParseError {
        let message = match &error {
            quick_xml::Error::Namespace(quick_xml::name::NamespaceError::TooManyBindings(
                limit,
            )) => format!("more than {limit} namespace declarations in scope"),
            _ => error.to_string(),
        };
        ParseError::Malformed {
            position: self.xml.error_position().max(self.event_start),
            message,
        }
    }

    /// A problem in the tag just read, placed at its `<`.
    fn bad_tag(&self, message: String) -> ParseError {
        ParseError::Malformed {
            position: self.event_start,
            message,
        }
    }

    fn unbound(&self, prefix: &str) -> ParseError {
        self.bad_tag(format!("the prefix {prefix:?} is not bound to a namespace"))
    }
}

/// Whether `name` is an XML name (with at most one colon, between a prefix and a local name):
/// each part starts with a letter, `_` or a non-ASCII character, and goes on with those, digits,
/// `-` and `.`. Non-ASCII characters are taken as allowed (Salesforce sends ASCII names).
fn is_xml_name(name: &str) -> bool {
    let part = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii())
    };
    let mut parts = name.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), None, _) => part(local),
        (Some(prefix), Some(local), None) => part(prefix) && part(local),
        _ => false,
    }
}

/// Whether XML 1.0 allows `c` in a document: tab, newline, carriage return and everything from
/// the space up, except U+FFFE and U+FFFF.
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// The first character of `body` XML does not allow (a NUL, a control character), by byte
/// offset; control characters are single bytes in UTF-8, so bytes are enough.
pub fn forbidden_byte(body: &[u8]) -> Option<(usize, u8)> {
    body.iter()
        .position(|&b| b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r'))
        .map(|at| (at, body[at]))
}

/// Character references and the five predefined entities; any other entity would need a DTD,
/// which the parser never reads.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, ParseError> {
    let invalid = || ParseError::Entity(reference.as_ref().to_string());
    if reference.is_char_ref() {
        let forbidden = || ParseError::ForbiddenCharacter(format!("&{};", reference.as_ref()));
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if xml_char(c) => Ok(c.to_string()),
            _ => Err(forbidden()),
        };
    }
    let text = match reference.as_ref() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return Err(invalid()),
    };
    Ok(text.to_string())
}

/// `value` without the whitespace around it, reusing its buffer when there is none.
fn trimmed(value: String) -> String {
    let trimmed = value.trim();
    if trimmed.len() == value.len() {
        value
    } else {
        trimmed.to_string()
    }
}
