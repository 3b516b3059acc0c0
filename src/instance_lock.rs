//! One process per SQLite file: an exclusive advisory lock on `<database file>.lock`, held for the
//! process's lifetime, so a second `serve` (which would run a second worker) is refused at start.
//! Several replicas need PostgreSQL, whose worker lock lives in the database.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Held while this process uses the SQLite file; the operating system releases it when the file
/// is closed, including when the process dies.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceLockError {
    #[error(
        "another campaign-sync process is already using {database} (it holds {lock}); one SQLite \
         file serves one process: stop the other one, or use PostgreSQL to run several replicas"
    )]
    Held { database: String, lock: String },
    /// The OS error is part of this message, not a source: said as a cause too, the
    /// `{:#}` chain an error ends the process with repeated it.
    #[error("locking {lock}: {error}")]
    Io { lock: String, error: std::io::Error },
}

/// Takes the lock for a `sqlite:` URL naming a file; other URLs (PostgreSQL, in-memory SQLite)
/// need none and give `None`.
pub fn acquire(database_url: &str) -> Result<Option<InstanceLock>, InstanceLockError> {
    let Some(database) = sqlite_file(database_url) else {
        return Ok(None);
    };
    let database = resolved(database);
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let io = |error| InstanceLockError::Io {
        lock: path.display().to_string(),
        error,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(InstanceLock { _file: file, path })),
        Err(TryLockError::WouldBlock) => Err(InstanceLockError::Held {
            database: database.display().to_string(),
            lock: path.display().to_string(),
        }),
        Err(TryLockError::Error(error)) => Err(io(error)),
    }
}

/// The file itself, whatever path names it (a symbolic link, `..`): the lock sits beside the
/// real file, so two paths to one database take one lock. A file not created yet is resolved
/// through its directory; a path that cannot be resolved is kept as given.
fn resolved(database: PathBuf) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(&database) {
        return real;
    }
    let (Some(dir), Some(name)) = (database.parent(), database.file_name()) else {
        return database;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).map_or(database.clone(), |dir| dir.join(name))
}

/// The file a SQLite URL names: `sqlite://path`, `sqlite:path`, with or without `?options`;
/// `None` for in-memory databases.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    let in_memory = path.is_empty() || path == ":memory:" || url.contains("mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_of_a_sqlite_url() {
        let cases = [
            ("sqlite://campaign-sync.db", Some("campaign-sync.db")),
            ("sqlite:///var/lib/x.db?mode=rwc", Some("/var/lib/x.db")),
            ("sqlite:x.db", Some("x.db")),
            ("sqlite::memory:", None),
            ("sqlite://x.db?mode=memory", None),
            ("postgres://u@h/db", None),
        ];
        for (url, file) in cases {
            assert_eq!(sqlite_file(url), file.map(PathBuf::from), "{url}");
        }
    }

    #[test]
    fn a_symbolic_link_to_the_file_takes_the_same_lock() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("cs.db");
        std::fs::write(&real, b"").unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let _first = acquire(&format!("sqlite://{}", real.display()))
            .unwrap()
            .expect("locked");
        let second = acquire(&format!("sqlite://{}", link.display()));
        assert!(
            matches!(second, Err(InstanceLockError::Held { .. })),
            "{second:?}"
        );
        // A file not created yet is found through its directory, linked or not.
        let linked_dir = dir.path().join("linked");
        std::os::unix::fs::symlink(dir.path(), &linked_dir).unwrap();
        let _new = acquire(&format!("sqlite://{}", dir.path().join("new.db").display()))
            .unwrap()
            .expect("locked");
        let again = acquire(&format!("sqlite://{}", linked_dir.join("new.db").display()));
        assert!(
            matches!(again, Err(InstanceLockError::Held { .. })),
            "{again:?}"
        );
    }

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let first = acquire(&url).unwrap().expect("a file URL is locked");
        let error = acquire(&url).unwrap_err();
        assert!(matches!(error, InstanceLockError::Held { .. }), "{error}");
        assert!(error.to_string().contains("PostgreSQL"), "{error}");
        drop(first);
        assert!(acquire(&url).unwrap().is_some());
        assert!(acquire("postgres://u@h/db").unwrap().is_none());
    }
}
