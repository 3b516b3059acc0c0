//! Splits SOQL into words (names, keywords, numbers, date literals), quoted strings and symbols.

use super::malformed;
use crate::sim::salesforce::error::SfError;

const SYMBOLS: [&str; 10] = ["!=", "<>", "<=", ">=", "=", "<", ">", ",", "(", ")"];

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word(String),
    Text(String),
    Symbol(&'static str),
}

impl Token {
    pub fn text(&self) -> &str {
        match self {
            Token::Word(w) | Token::Text(w) => w,
            Token::Symbol(s) => s,
        }
    }
}

/// Date-time literals such as `2026-11-28T20:22:01.000+0000` are single words.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || "_.:-+".contains(c)
}

pub fn tokenize(soql: &str) -> Result<Vec<Token>, SfError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = soql[i..].chars().next() {
        let rest = &soql[i..];
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if c == '\'' {
            let mut text = String::new();
            let mut chars = rest.char_indices().skip(1);
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => text.extend(chars.next().map(|(_, escaped)| escaped)),
                    Some((j, '\'')) => break j,
                    Some((_, other)) => text.push(other),
                    None => return Err(malformed("unterminated string literal")),
                }
            };
            i += end + 1;
            tokens.push(Token::Text(text));
        } else if let Some(symbol) = SYMBOLS.into_iter().find(|s| rest.starts_with(s)) {
            i += symbol.len();
            tokens.push(Token::Symbol(symbol));
        } else if is_word(c) {
            let len = rest.find(|w: char| !is_word(w)).unwrap_or(rest.len());
            tokens.push(Token::Word(rest[..len].to_owned()));
            i += len;
        } else {
            return Err(malformed(&format!("unexpected character '{c}'")));
        }
    }
    Ok(tokens)
}
