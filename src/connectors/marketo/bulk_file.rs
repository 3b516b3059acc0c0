//! An extract's file read as a stream: each chunk goes through the CSV reader into member
//! records, 300 at a time, as it arrives; a transfer that breaks off resumes with `Range` from
//! the last byte received; the whole is checked against the job's size and SHA-256.

use std::time::Duration;

use reqwest::{StatusCode, header};
use sha2::{Digest, Sha256};

use super::bulk::{FIELDS, Job};
use super::classify::{self, malformed};
use super::csv_rows::RowReader;
use super::{BATCH_LIMIT, MarketoClient, MemberRecord};
use crate::connectors::CallError;
use crate::store::now_millis;

/// Transfers resumed (with `Range` from the last byte received) after breaking off, per file.
const RESUMES: u64 = 10;

impl MarketoClient {
    /// Streams the file into rows, resuming where it broke off; checks size and checksum.
    pub(super) async fn read_file(
        &self,
        job: &Job,
        each: &mut impl FnMut(Vec<MemberRecord>),
    ) -> Result<u64, CallError> {
        let path = format!("{}/{}/file.json", super::bulk::EXPORTS, job.export_id);
        let mut reader = RowReader::new(b',');
        let mut rows = Rows::default();
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let mut resumes = 0;
        let mut handle = |row: Vec<String>| rows.take(row, each);
        loop {
            let _permits = self.admit().await?;
            let opened = self.attempts(|| self.open_file(&path, received)).await;
            let broke = match opened {
                Ok(mut response) => loop {
                    match response.chunk().await {
                        Ok(Some(bytes)) => {
                            hasher.update(&bytes);
                            received += bytes.len() as u64;
                            reader.feed(&bytes, &mut handle)?;
                        }
                        Ok(None) => break None,
                        Err(error) => break Some(CallError::transport(&error)),
                    }
                },
                Err(error) => Some(error),
            };
            match broke {
                None => break,
                Some(error @ CallError::Retry { .. }) if resumes < RESUMES => {
                    tracing::info!(%error, received, "Marketo extract file broke off; resuming");
                    // At once the first time, then a second longer each time.
                    tokio::time::sleep(Duration::from_secs(resumes)).await;
                    resumes += 1;
                }
                Some(error) => return Err(error),
            }
        }
        reader.finish(&mut handle)?;
        let records = rows.finish(each);
        let checksum = format!("sha256:{}", hex::encode(hasher.finalize()));
        if job.file_size.is_some_and(|size| size != received)
            || job
                .file_checksum
                .as_ref()
                .is_some_and(|c| !c.eq_ignore_ascii_case(&checksum))
        {
            return Err(CallError::retry(format!(
                "Marketo extract {}: {received} bytes with {checksum}, not the job's {:?} bytes with {:?}",
                job.export_id, job.file_size, job.file_checksum
            )));
        }
        Ok(records)
    }

    /// One file request from byte `from` on: the response whose body is the file (200 whole,
    /// 206 from `from`), or the error the answer stands for.
    async fn open_file(&self, path: &str, from: u64) -> Result<reqwest::Response, CallError> {
        let token = self.token().await?;
        self.window.admit(super::super::lane()).await;
        let mut request = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .timeout(self.extract.file_timeout);
        if from > 0 {
            request = request.header(header::RANGE, format!("bytes={from}-"));
        }
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.quota.count(now_millis());
        let response = request.send().await.map_err(|e| CallError::transport(&e))?;
        let status = response.status();
        metrics::counter!("connector_calls_total", "connector" => "marketo", "method" => "GET", "status" => status.as_u16().to_string()).increment(1);
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let expected = if from > 0 {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        if status == expected && !json {
            return Ok(response);
        }
        let text = response
            .text()
            .await
            .map_err(|e| CallError::transport(&e))?;
        if status == StatusCode::NOT_FOUND {
            // Plain text, unlike other Marketo errors: the job is unknown or not completed.
            return Err(CallError::Permanent(format!(
                "Marketo extract file: {}",
                text.trim()
            )));
        }
        match classify::classify(status, &text) {
            Err(error) => Err(error),
            Ok(_) => Err(malformed(
                "extract file",
                format!("HTTP {status} for bytes {from}-"),
            )),
        }
    }
}

/// Turns rows into member records, by the header's column names, 300 to a page.
#[derive(Default)]
struct Rows {
    columns: Option<[Option<usize>; 3]>,
    page: Vec<MemberRecord>,
    records: u64,
}

impl Rows {
    fn take(
        &mut self,
        row: Vec<String>,
        each: &mut impl FnMut(Vec<MemberRecord>),
    ) -> Result<(), CallError> {
        let Some(columns) = self.columns else {
            let at = |name: &str| row.iter().position(|c| c == name);
            let columns = FIELDS.map(at);
            if columns[0].is_none() || columns[1].is_none() {
                return Err(malformed("extract file", format!("header {row:?}")));
            }
            self.columns = Some(columns);
            return Ok(());
        };
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .filter(|v| v.as_str() != "null" && !v.is_empty())
                .cloned()
        };
        let lead = cell(columns[0]).and_then(|v| v.parse::<i64>().ok());
        let lead = lead.ok_or_else(|| malformed("extract file", format!("row {row:?}")))?;
        self.page.push(MemberRecord {
            lead_id: lead,
            status_name: cell(columns[1]),
            updated_at: cell(columns[2]),
            membership_date: None,
        });
        self.records += 1;
        if self.page.len() == BATCH_LIMIT {
            each(std::mem::take(&mut self.page));
        }
        Ok(())
    }

    fn finish(mut self, each: &mut impl FnMut(Vec<MemberRecord>)) -> u64 {
        if !self.page.is_empty() {
            each(std::mem::take(&mut self.page));
        }
        self.records
    }
}
