//! Bulk Program Member Extract jobs: created, enqueued (at most 10 queued or processing, 2
//! processing), moved on one state per status interval (Marketo updates a job's status once a
//! minute), their file the membership as it was when processing began, and the instance's daily
//! export allowance (500 MB, reset at midnight US Central).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::clock;
use super::envelope::MktoError;
use super::exports_file;
use super::limits::quota_day;
use super::world::World;

/// Jobs queued or processing at once, per instance ("Max Queued Export Jobs … inclusive of
/// currently exporting jobs").
pub const MAX_QUEUED: usize = 10;
/// Jobs processing at once.
pub const MAX_PROCESSING: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Created,
    Queued,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Created => "Created",
            JobState::Queued => "Queued",
            JobState::Processing => "Processing",
            JobState::Completed => "Completed",
            JobState::Failed => "Failed",
            // The documented cancel answer spells it so (the status list says "Canceled").
            JobState::Cancelled => "Cancelled",
        }
    }
}

/// Which members a job selects; the filters are ANDed.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub programs: Vec<i64>,
    /// `programIds` was used: the file starts with a `programId` column.
    pub several: bool,
    pub status_names: Option<Vec<String>>,
    pub is_exhausted: Option<bool>,
    pub nurture_cadence: Option<String>,
}

/// What `create.json` asked for, already validated.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub owner: String,
    /// `CSV`, `TSV` or `SSV`.
    pub format: &'static str,
    pub fields: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub filter: Filter,
}

#[derive(Debug, Clone)]
pub struct ExportJob {
    pub id: String,
    pub job: NewJob,
    pub state: JobState,
    pub created_at: i64,
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// When the state last changed: the next change waits a status interval from here.
    changed: Instant,
    pub file: Option<Arc<[u8]>>,
    pub records: usize,
    pub error: Option<String>,
}

impl ExportJob {
    /// The job as the status endpoints answer it; file facts only once Completed.
    pub fn view(&self) -> Value {
        let mut view = json!({
            "exportId": self.id,
            "format": self.job.format,
            "status": self.state.name(),
            "createdAt": clock::lead_db(self.created_at),
        });
        let times = [
            ("queuedAt", self.queued_at),
            ("startedAt", self.started_at),
            ("finishedAt", self.finished_at),
        ];
        for (name, at) in times {
            if let Some(at) = at {
                view[name] = json!(clock::lead_db(at));
            }
        }
        if let (JobState::Completed, Some(file)) = (self.state, &self.file) {
            view["numberOfRecords"] = json!(self.records);
            view["fileSize"] = json!(file.len());
            view["fileChecksum"] = json!(format!("sha256:{}", hex::encode(Sha256::digest(file))));
        }
        if let Some(error) = &self.error {
            view["errorMsg"] = json!(error);
        }
        view
    }
}

#[derive(Debug, Default)]
pub struct Exports {
    jobs: Vec<ExportJob>,
    day: i64,
    bytes_today: u64,
    /// Jobs finishing processing fail with this message instead of completing (a control).
    pub fail_with: Option<String>,
    /// The next file answer breaks off after this many bytes (a control).
    pub cut_next_file: Option<usize>,
}

impl Exports {
    pub fn jobs(&self) -> &[ExportJob] {
        &self.jobs
    }

    /// Creates a job in state Created, unless today's export allowance is used up.
    pub fn create(&mut self, job: NewJob, now_ms: i64, allowance: u64) -> Result<Value, MktoError> {
        self.within_allowance(now_ms, allowance)?;
        let created = ExportJob {
            id: uuid::Uuid::new_v4().to_string(),
            job,
            state: JobState::Created,
            created_at: now_ms,
            queued_at: None,
            started_at: None,
            finished_at: None,
            changed: Instant::now(),
            file: None,
            records: 0,
            error: None,
        };
        let view = created.view();
        self.jobs.push(created);
        Ok(view)
    }

    /// The caller's own job: jobs are visible only to the API user that created them.
    pub fn find(&mut self, owner: &str, id: &str) -> Result<&mut ExportJob, MktoError> {
        self.jobs
            .iter_mut()
            .find(|j| j.id == id && j.job.owner == owner)
            .ok_or_else(|| MktoError::ObjectNotFound(format!("Export job '{id}' not found")))
    }

    /// Created → Queued, within the queue's ten places and today's allowance.
    pub fn enqueue(
        &mut self,
        owner: &str,
        id: &str,
        now_ms: i64,
        allowance: u64,
    ) -> Result<Value, MktoError> {
        if self.find(owner, id)?.state != JobState::Created {
            return Err(MktoError::ExportRefused("Job already queued"));
        }
        self.within_allowance(now_ms, allowance)?;
        let waiting = self
            .jobs
            .iter()
            .filter(|j| matches!(j.state, JobState::Queued | JobState::Processing))
            .count();
        if waiting >= MAX_QUEUED {
            return Err(MktoError::ExportRefused("Too many jobs in queue"));
        }
        let job = self.find(owner, id)?;
        job.state = JobState::Queued;
        job.queued_at = Some(now_ms);
        job.changed = Instant::now();
        Ok(job.view())
    }

    /// Created, Queued or Processing → Cancelled; a finished job cannot be cancelled.
    pub fn cancel(&mut self, owner: &str, id: &str) -> Result<Value, MktoError> {
        let job = self.find(owner, id)?;
        if !matches!(
            job.state,
            JobState::Created | JobState::Queued | JobState::Processing
        ) {
            return Err(MktoError::InvalidData(format!(
                "Export job '{id}' is {} and cannot be cancelled",
                job.state.name()
            )));
        }
        job.state = JobState::Cancelled;
        job.file = None;
        job.changed = Instant::now();
        Ok(job.view())
    }

    /// Moves every job on by at most one state whose last change is `interval` old: Processing
    /// finishes (Completed, or Failed under `fail_with`), then Queued jobs start, oldest first,
    /// while fewer than two process. A starting job takes its snapshot of `world`.
    pub fn tick(&mut self, world: &World, interval: Duration, now_ms: i64) {
        let now = Instant::now();
        let due = |job: &ExportJob| now.duration_since(job.changed) >= interval;
        let mut moved = Vec::new();
        let mut exported = 0;
        for (i, job) in self.jobs.iter_mut().enumerate() {
            if job.state != JobState::Processing || !due(job) {
                continue;
            }
            job.finished_at = Some(now_ms);
            job.changed = now;
            moved.push(i);
            if let Some(error) = &self.fail_with {
                job.state = JobState::Failed;
                job.error = Some(error.clone());
                job.file = None;
                continue;
            }
            job.state = JobState::Completed;
            exported += job.file.as_ref().map_or(0, |f| f.len() as u64);
        }
        self.roll_day(now_ms);
        self.bytes_today += exported;
        let mut processing = self
            .jobs
            .iter()
            .filter(|j| j.state == JobState::Processing)
            .count();
        for (i, job) in self.jobs.iter_mut().enumerate() {
            if processing >= MAX_PROCESSING {
                break;
            }
            if job.state != JobState::Queued || !due(job) || moved.contains(&i) {
                continue;
            }
            let (file, records) = exports_file::render(world, &job.job);
            job.file = Some(file.into());
            job.records = records;
            job.state = JobState::Processing;
            job.started_at = Some(now_ms);
            job.changed = now;
            processing += 1;
        }
    }

    fn roll_day(&mut self, now_ms: i64) {
        let day = quota_day(now_ms);
        if day != self.day {
            self.day = day;
            self.bytes_today = 0;
        }
    }

    fn within_allowance(&mut self, now_ms: i64, allowance: u64) -> Result<(), MktoError> {
        self.roll_day(now_ms);
        if self.bytes_today >= allowance {
            return Err(MktoError::ExportRefused("Export daily quota exceeded"));
        }
        Ok(())
    }
}
