//! The SOQL subset the service sends: `SELECT fields FROM Type [WHERE c AND c …]
//! [ORDER BY f [ASC|DESC]] [LIMIT n]`, where a condition is `field op literal` (`=`, `!=`, `<>`,
//! `<`, `>`, `<=`, `>=`) or `field [NOT] IN (…)`. Parsing and matching are pure.

mod eval;
mod lexer;

use lexer::{Token, tokenize};

use super::error::SfError;
use super::schema::Kind;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub kind: Kind,
    pub fields: Vec<&'static str>,
    pub conditions: Vec<Condition>,
    pub order: Option<(&'static str, bool)>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    field: &'static str,
    op: Op,
    values: Vec<Literal>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Bare(String),
}

pub fn parse(soql: &str) -> Result<Query, SfError> {
    let tokens = tokenize(soql)?;
    let mut at = Cursor {
        tokens: &tokens,
        at: 0,
    };
    at.keyword("SELECT")?;
    let mut names = vec![at.word()?];
    while at.eat(",") {
        names.push(at.word()?);
    }
    at.keyword("FROM")?;
    let type_name = at.word()?;
    let kind = Kind::parse(&type_name).ok_or_else(|| {
        SfError::bad_request(
            "INVALID_TYPE",
            format!("sObject type '{type_name}' is not supported."),
        )
    })?;
    let field = |name: &str| {
        kind.field(name).ok_or_else(|| {
            SfError::bad_request(
                "INVALID_FIELD",
                format!("No such column '{name}' on entity '{}'.", kind.name()),
            )
        })
    };
    let fields = names
        .iter()
        .map(|n| field(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut query = Query {
        kind,
        fields,
        conditions: Vec::new(),
        order: None,
        limit: None,
    };
    if at.eat_keyword("WHERE") {
        loop {
            let name = field(&at.word()?)?;
            query.conditions.push(at.condition(name)?);
            if !at.eat_keyword("AND") {
                break;
            }
        }
    }
    if at.eat_keyword("ORDER") {
        at.keyword("BY")?;
        let name = field(&at.word()?)?;
        let descending = at.eat_keyword("DESC");
        if !descending {
            at.eat_keyword("ASC");
        }
        query.order = Some((name, descending));
    }
    if at.eat_keyword("LIMIT") {
        let limit = at.word()?;
        query.limit = Some(
            limit
                .parse()
                .map_err(|_| malformed(&format!("bad LIMIT {limit}")))?,
        );
    }
    match at.tokens.get(at.at) {
        None => Ok(query),
        Some(extra) => Err(malformed(&format!("unexpected token: '{}'", extra.text()))),
    }
}

/// What a field holds, for checking the values a filter compares it with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldType {
    DateTime,
    Date,
    Boolean,
    Number,
    Text,
}

impl FieldType {
    fn of(field: &str) -> FieldType {
        match field {
            "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => FieldType::DateTime,
            "StartDate" | "EndDate" | "FirstRespondedDate" => FieldType::Date,
            "IsDeleted" | "IsActive" | "IsConverted" | "IsDefault" | "HasResponded" => {
                FieldType::Boolean
            }
            "ActualCost" | "BudgetedCost" | "SortOrder" | "NumberOfLeads" | "NumberOfContacts"
            | "NumberOfResponses" => FieldType::Number,
            _ => FieldType::Text,
        }
    }

    /// Whether `word`, written bare, is a value of this type.
    fn takes_bare(self, word: &str) -> bool {
        match self {
            FieldType::Date | FieldType::DateTime => super::clock::parse(word).is_some(),
            FieldType::Boolean => {
                word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false")
            }
            FieldType::Number => word.parse::<f64>().is_ok(),
            FieldType::Text => false,
        }
    }

    /// The type's name in Salesforce's messages.
    fn name(self) -> &'static str {
        match self {
            FieldType::DateTime => "dateTime",
            FieldType::Date => "date",
            FieldType::Boolean => "boolean",
            FieldType::Number => "double",
            FieldType::Text => "string",
        }
    }
}

/// SOQL types its literals: a date, datetime, boolean or number is written bare, text is quoted
/// (`null` is bare for any field). A quoted value for a typed field, or a bare word for a text
/// field, fails the whole query, as in Salesforce.
fn check_types(field: &str, values: &[Literal]) -> Result<(), SfError> {
    let kind = FieldType::of(field);
    let wrong = |detail: &str| {
        SfError::bad_request(
            "INVALID_FIELD",
            format!(
                "value of filter criterion for field '{field}' must be of type {}{detail}",
                kind.name()
            ),
        )
    };
    const UNQUOTED: &str = " and should not be enclosed in quotes";
    for value in values {
        match value {
            Literal::Bare(word) if word.eq_ignore_ascii_case("null") => {}
            Literal::Text(_) if kind != FieldType::Text => return Err(wrong(UNQUOTED)),
            Literal::Bare(word) if kind == FieldType::Text => {
                return Err(malformed(&format!(
                    "unexpected token: '{word}' (text in a filter is quoted)"
                )));
            }
            // SOQL date literals (TODAY, LAST_N_DAYS:7, …) are Salesforce's, not simulated.
            Literal::Bare(word) if !kind.takes_bare(word) => {
                return Err(match kind {
                    FieldType::Date | FieldType::DateTime => wrong(&format!(
                        " (the simulator takes a literal date or datetime, not a date literal such as TODAY): {word}"
                    )),
                    _ => wrong(UNQUOTED),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn malformed(detail: &str) -> SfError {
    SfError::bad_request("MALFORMED_QUERY", detail.to_owned())
}

struct Cursor<'t> {
    tokens: &'t [Token],
    at: usize,
}

impl Cursor<'_> {
    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    fn word(&mut self) -> Result<String, SfError> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word.clone()),
            other => Err(malformed(&format!(
                "expected a name, found {}",
                found(other)
            ))),
        }
    }

    fn eat(&mut self, symbol: &str) -> bool {
        let hit = matches!(self.tokens.get(self.at), Some(Token::Symbol(s)) if *s == symbol);
        self.at += usize::from(hit);
        hit
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let hit = matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword));
        self.at += usize::from(hit);
        hit
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), SfError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(malformed(&format!("expected {keyword}")))
        }
    }

    fn literal(&mut self) -> Result<Literal, SfError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text.clone())),
            Some(Token::Word(word)) => Ok(Literal::Bare(word.clone())),
            other => Err(malformed(&format!(
                "expected a value, found {}",
                found(other)
            ))),
        }
    }

    fn condition(&mut self, field: &'static str) -> Result<Condition, SfError> {
        let condition = self.condition_of(field)?;
        check_types(field, &condition.values)?;
        if field.ends_with("Id") {
            // An id field compared with text that cannot be an id fails the whole query.
            for value in &condition.values {
                if let Literal::Text(text) = value
                    && super::ids::normalize(text).is_none()
                {
                    return Err(SfError::bad_request(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        format!("invalid ID field: {text}"),
                    ));
                }
            }
        }
        Ok(condition)
    }

    fn condition_of(&mut self, field: &'static str) -> Result<Condition, SfError> {
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            if !self.eat("(") {
                return Err(malformed("expected ( after IN"));
            }
            let mut values = vec![self.literal()?];
            while self.eat(",") {
                values.push(self.literal()?);
            }
            if !self.eat(")") {
                return Err(malformed("expected ) to close IN"));
            }
            let op = if negated { Op::NotIn } else { Op::In };
            return Ok(Condition { field, op, values });
        }
        let op = match self.next() {
            Some(Token::Symbol("=")) if !negated => Op::Eq,
            Some(Token::Symbol("!=" | "<>")) if !negated => Op::Ne,
            Some(Token::Symbol("<")) if !negated => Op::Lt,
            Some(Token::Symbol(">")) if !negated => Op::Gt,
            Some(Token::Symbol("<=")) if !negated => Op::Le,
            Some(Token::Symbol(">=")) if !negated => Op::Ge,
            other => {
                let found = found(other);
                return Err(malformed(&format!(
                    "unexpected operator {found} after {field} (the simulator's SOQL takes =, \
                     !=, <>, <, >, <=, >=, IN and NOT IN)"
                )));
            }
        };
        Ok(Condition {
            field,
            op,
            values: vec![self.literal()?],
        })
    }
}

/// A token as a message names it: quoted, or "the end of the query".
fn found(token: Option<&Token>) -> String {
    token
        .map(Token::text)
        .map_or_else(|| "the end of the query".to_string(), |t| format!("{t:?}"))
}
