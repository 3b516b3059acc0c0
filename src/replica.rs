//! This process's name among the replicas: its host name (a pod's or container's name) and
//! process id, as the status overview and the worker lock's database session show it.

use std::sync::OnceLock;

/// `host pid N`, read once: `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `unknown`.
pub fn name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        format!("{host} pid {}", std::process::id())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_host_and_this_process() {
        let name = super::name();
        assert!(
            name.ends_with(&format!(" pid {}", std::process::id())),
            "{name}"
        );
        assert!(!name.starts_with(' '), "{name}");
    }
}
