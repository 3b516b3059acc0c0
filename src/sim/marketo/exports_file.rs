//! A bulk extract's file: the fields a job may name, the snapshot rendered as CSV, TSV or SSV
//! (header row first, `null` for an empty field, RFC 4180 quoting), and the file answer with
//! `Range` support (206 and `Content-Range`; 416 when unsatisfiable).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::envelope::Outcome;
use super::exports::{Filter, NewJob};
use super::members::field_value;
use super::world::{Member, World};

/// The program member fields of `members/describe.json`.
pub const MEMBER_FIELDS: [&str; 19] = [
    "acquiredBy",
    "attendanceLikelihood",
    "createdAt",
    "isExhausted",
    "leadId",
    "membershipDate",
    "nurtureCadence",
    "program",
    "programId",
    "reachedSuccess",
    "reachedSuccessDate",
    "registrationLikelihood",
    "statusName",
    "statusReason",
    "trackName",
    "updatedAt",
    "waitlistPriority",
    "registrationCode",
    "webinarUrl",
];

/// Standard lead fields the simulator knows besides those some lead carries.
const LEAD_FIELDS: [&str; 10] = [
    "email",
    "firstName",
    "lastName",
    "company",
    "title",
    "phone",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcType",
    "sfdcAccountId",
];

/// A field a job may export: a program member field (which wins a name both have, such as
/// `updatedAt`), or a lead field ([`lead_field`]).
pub fn known_field(world: &World, name: &str) -> bool {
    MEMBER_FIELDS.contains(&name) || lead_field(world, name)
}

/// A field of the instance's leads: a standard one, a system one (`id`, `createdAt`,
/// `updatedAt`), or a custom field some lead carries.
pub fn lead_field(world: &World, name: &str) -> bool {
    LEAD_FIELDS.contains(&name)
        || ["id", "createdAt", "updatedAt"].contains(&name)
        || custom_field(world, name)
}

/// One of the standard lead fields the simulator knows (all of them text).
pub fn standard_lead_field(name: &str) -> bool {
    LEAD_FIELDS.contains(&name)
}

/// A custom lead field: not a standard one, carried by some lead of the instance.
pub fn custom_field(world: &World, name: &str) -> bool {
    !LEAD_FIELDS.contains(&name) && world.leads.values().any(|l| l.fields.contains_key(name))
}

pub fn separator(format: &str) -> u8 {
    match format {
        "TSV" => b'\t',
        "SSV" => b' ',
        _ => b',',
    }
}

fn selected(filter: &Filter, member: &Member) -> bool {
    let status = filter
        .status_names
        .as_ref()
        .is_none_or(|names| names.contains(&member.status_name));
    // No simulated member has exhausted content or a nurture cadence (no engagement programs).
    status && filter.is_exhausted != Some(true) && filter.nurture_cadence.is_none()
}

/// The file of `job` as `world` is now, and how many records it holds.
pub fn render(world: &World, job: &NewJob) -> (Vec<u8>, usize) {
    let sep = separator(job.format);
    let mut columns: Vec<&str> = Vec::new();
    if job.filter.several {
        columns.push("programId");
    }
    columns.extend(job.fields.iter().map(String::as_str));
    let mut out = Vec::new();
    let header: Vec<&str> = columns
        .iter()
        .map(|c| job.headers.get(*c).map_or(*c, String::as_str))
        .collect();
    write_row(&mut out, sep, header.iter().map(|h| (*h).to_string()));
    let mut records = 0;
    for program in &job.filter.programs {
        let name = world.programs.get(program).map(|p| p.name.as_str());
        let members = world
            .members
            .range((*program, i64::MIN)..=(*program, i64::MAX))
            .map(|(_, m)| m)
            .filter(|m| selected(&job.filter, m));
        for member in members {
            let lead = world.leads.get(&member.lead_id);
            let cells = columns.iter().map(|column| {
                let value = if MEMBER_FIELDS.contains(column) {
                    field_value(member, column, name)
                } else {
                    lead.map_or(Value::Null, |l| l.field(column))
                };
                text(&value)
            });
            write_row(&mut out, sep, cells);
            records += 1;
        }
    }
    (out, records)
}

/// "If a requested program member field is empty (contains no data), then `null` is placed in
/// the corresponding field in the export file."
fn text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::String(s) if s.is_empty() => "null".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn write_row(out: &mut Vec<u8>, sep: u8, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(sep);
        }
        let quote = cell
            .bytes()
            .any(|b| b == sep || b == b'"' || b == b'\n' || b == b'\r');
        if quote {
            out.push(b'"');
            out.extend_from_slice(cell.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.push(b'\n');
}

/// The file, whole (200) or the part a `Range: bytes=a-b` header asks for (206). With `cut`,
/// the body breaks off after that many bytes, as a dropped connection does.
pub fn answer(
    file: Arc<[u8]>,
    range: Option<&str>,
    cut: Option<usize>,
    records: usize,
) -> Response {
    let total = file.len();
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, total),
        Some(range) => match parse_range(range, total) {
            Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end),
            None => {
                let mut refused = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(value) = format!("bytes */{total}").parse() {
                    refused.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return refused;
            }
        },
    };
    let part = Bytes::copy_from_slice(&file[start..end]);
    let body = match cut.filter(|c| *c < part.len()) {
        Some(cut) => {
            let head = futures::stream::iter([Ok(part.slice(..cut))]);
            // The first part reaches the client before the connection drops.
            let drop = futures::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                Err(std::io::Error::other("connection dropped by the simulator"))
            });
            Body::from_stream(futures::StreamExt::chain(head, drop))
        }
        None => Body::from(part),
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/csv;charset=UTF-8")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, end - start);
    if status == StatusCode::PARTIAL_CONTENT {
        let last = end.saturating_sub(1);
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{last}/{total}"),
        );
    }
    let mut response = response
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    response.extensions_mut().insert(Outcome {
        code: None,
        records,
    });
    response
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` as a half-open byte range within `total`.
fn parse_range(range: &str, total: usize) -> Option<(usize, usize)> {
    let spec = range.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: usize = suffix.parse().ok()?;
            (total.saturating_sub(n), total)
        }
        (first, "") => (first.parse().ok()?, total),
        (first, last) => {
            let last: usize = last.parse().ok()?;
            (first.parse().ok()?, last.saturating_add(1).min(total))
        }
    };
    (start < end && start < total).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_7233() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 10)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 100)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 100)));
        assert_eq!(parse_range("bytes=95-200", 100), Some((95, 100)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes 0-9", 100), None);
        assert_eq!(parse_range("bytes=9-0", 100), None);
    }

    #[test]
    fn cells_with_the_separator_quotes_or_line_breaks_are_quoted() {
        let mut out = Vec::new();
        let cells = ["a", "b,c", "say \"hi\"", "two\nlines", "plain"];
        write_row(&mut out, b',', cells.iter().map(|c| (*c).to_string()));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",plain\n"
        );
        assert_eq!(text(&Value::Null), "null");
        assert_eq!(text(&Value::from(7)), "7");
    }
}
