//! The shipped deploy files say what they mean: every manifest is well-formed YAML naming its
//! kind, the ConfigMap plus the Secret example make a configuration `check-config` accepts, and
//! the Deployment keeps the restricted pod-security settings, its probes and a pinned image.

use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::binary::{BIN, text};

fn manifest(name: &str) -> String {
    let path = format!("{}/deploy/kubernetes/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The one YAML document in the manifest `name`.
fn document(name: &str) -> Yaml {
    let mut documents =
        YamlLoader::load_from_str(&manifest(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(documents.len(), 1, "{name} holds one document");
    documents.remove(0)
}

/// `campaign-sync.toml` as the ConfigMap mounts it.
fn configmap_toml() -> String {
    document("configmap.yaml")["data"]["campaign-sync.toml"]
        .as_str()
        .expect("the ConfigMap holds campaign-sync.toml")
        .to_string()
}

/// The `KEY: value` pairs under the Secret example's `stringData`.
fn secret_env() -> Vec<(String, String)> {
    let secret = document("secret.example.yaml");
    let data = secret["stringData"].as_hash().expect("stringData");
    data.iter()
        .map(|(key, value)| {
            let value = value.as_str().unwrap_or_else(|| {
                panic!("{key:?} must be a string (Kubernetes refuses other values)")
            });
            (
                key.as_str().expect("a string key").to_string(),
                value.to_string(),
            )
        })
        .collect()
}

#[test]
fn every_manifest_is_yaml_naming_its_kind_and_name() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("deploy/kubernetes") {
        let name = entry.expect("an entry").file_name();
        let name = name.to_str().expect("a UTF-8 name");
        let documents =
            YamlLoader::load_from_str(&manifest(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for manifest in documents {
            for key in ["apiVersion", "kind"] {
                assert!(manifest[key].as_str().is_some(), "{name}: no {key}");
            }
            assert!(
                manifest["metadata"]["name"].as_str().is_some(),
                "{name}: no metadata.name"
            );
            seen += 1;
        }
    }
    assert!(seen >= 6, "{seen} manifests");
    let compose =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/compose.yaml"))
            .expect("compose.yaml");
    let compose = YamlLoader::load_from_str(&compose).expect("compose.yaml parses");
    let services = &compose[0]["services"];
    assert!(services.as_hash().is_some_and(|s| !s.is_empty()));
    // Each replica starts only after the configuration passed `check-config`.
    for replica in ["campaign-sync-1", "campaign-sync-2"] {
        assert_eq!(
            services[replica]["depends_on"]["check-config"]["condition"].as_str(),
            Some("service_completed_successfully"),
            "{replica}"
        );
    }
    assert_eq!(
        services["check-config"]["command"][0].as_str(),
        Some("check-config")
    );
    // One address for the senders: the balancer, with its configuration mounted.
    let lb = &services["lb"];
    assert_eq!(lb["ports"][0].as_str(), Some("8080:8080"));
    assert!(
        lb["volumes"][0]
            .as_str()
            .is_some_and(|v| v.starts_with("./haproxy.cfg:")),
        "{lb:?}"
    );
}

/// The balancer sends to every replica compose runs, each checked on `/readyz`, and HAProxy
/// itself accepts the file (where it is installed; CI installs it).
#[test]
fn the_load_balancer_checks_every_replica_on_readyz() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy.cfg");
    let cfg = std::fs::read_to_string(path).expect("haproxy.cfg");
    assert!(
        cfg.contains("http-check send meth GET uri /readyz"),
        "{cfg}"
    );
    assert!(cfg.contains("http-check expect status 200"), "{cfg}");
    for replica in ["campaign-sync-1", "campaign-sync-2"] {
        assert!(
            cfg.contains(&format!("server {replica} {replica}:8080")),
            "{replica}: {cfg}"
        );
    }
    match std::process::Command::new("haproxy")
        .args(["-c", "-f", path])
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "haproxy -c: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(error) => assert!(
            std::env::var_os("CI").is_none(),
            "CI installs haproxy to check deploy/haproxy.cfg: {error}"
        ),
    }
}

#[test]
fn the_configmap_with_the_secret_example_is_a_runnable_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campaign-sync.toml");
    std::fs::write(&file, configmap_toml()).unwrap();
    let mut env = secret_env();
    assert!(env.iter().any(|(k, _)| k == "CAMPAIGN_SYNC_DATABASE_URL"));
    // What Kubernetes adds for the two Services (service.yaml) when service links are on.
    for (service, port) in [("CAMPAIGN_SYNC", 80), ("CAMPAIGN_SYNC_ADMIN", 9090)] {
        let address = format!("tcp://10.0.0.7:{port}");
        env.push((format!("{service}_SERVICE_HOST"), "10.0.0.7".into()));
        env.push((format!("{service}_SERVICE_PORT"), port.to_string()));
        env.push((format!("{service}_PORT"), address.clone()));
        env.push((format!("{service}_PORT_{port}_TCP"), address));
        env.push((format!("{service}_PORT_{port}_TCP_ADDR"), "10.0.0.7".into()));
        env.push((format!("{service}_PORT_{port}_TCP_PROTO"), "tcp".into()));
    }
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.to_str().unwrap()])
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The example's placeholders are complete; only their length is warned about, so that a
    // `change-me` left in place is named.
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 3, "{stdout}");
    assert!(
        warnings.iter().all(|w| w.contains("short enough to guess")),
        "{stdout}"
    );
}

#[test]
fn the_deployment_meets_the_restricted_profile_with_probes_and_a_pinned_image() {
    let deployment = manifest("deployment.yaml");
    for needed in [
        "runAsNonRoot: true",
        "allowPrivilegeEscalation: false",
        "readOnlyRootFilesystem: true",
        "capabilities: { drop: [ALL] }",
        "seccompProfile: { type: RuntimeDefault }",
        "startupProbe:",
        "livenessProbe:",
        "readinessProbe:",
        "containerPort: 9090",
        "enableServiceLinks: false",
        // Liveness on the admin port, whose connection slots the public port's load cannot take.
        "httpGet: { path: /healthz, port: admin }",
    ] {
        assert!(
            deployment.contains(needed),
            "deployment.yaml lacks {needed:?}"
        );
    }
    // A configuration `check-config` refuses stops the pod before `serve` starts.
    assert!(
        deployment.contains("initContainers:")
            && deployment.contains(
                r#"args: ["check-config", "--config", "/etc/campaign-sync/campaign-sync.toml"]"#
            ),
        "the configuration is checked before serve starts"
    );
    let images: Vec<&str> = deployment
        .lines()
        .filter_map(|line| line.trim().strip_prefix("image: "))
        .collect();
    assert_eq!(images.len(), 2, "{images:?}");
    assert_eq!(images[0], images[1], "the check runs the same image");
    let image = images[0];
    let tag = image.rsplit_once(':').map(|(_, tag)| tag);
    assert!(
        tag.is_some_and(|t| t != "latest" && !t.contains('/')) || image.contains("@sha256:"),
        "the image must be pinned: {image}"
    );
    assert!(configmap_toml().contains("admin_listen = \"0.0.0.0:9090\""));
    let services = manifest("service.yaml");
    assert!(services.contains("name: campaign-sync-admin"));
    assert!(manifest("poddisruptionbudget.yaml").contains("kind: PodDisruptionBudget"));
}

/// Runs the CI's Dockerfile check on `dockerfile` (with `ignore` as its `.dockerignore`) in a
/// scratch directory and target of its own.
fn check_dockerfile(dockerfile: &str, ignore: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, dockerfile).unwrap();
    std::fs::write(dir.path().join("Dockerfile.dockerignore"), ignore).unwrap();
    Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/check-dockerfile-context.sh"
    ))
    .arg(&path)
    .env("DOCKERFILE_CHECK_DIR", dir.path().join("work"))
    .env("CARGO_TARGET_DIR", dir.path().join("target"))
    .output()
    .unwrap()
}

#[test]
fn the_dockerfile_check_fails_the_way_the_image_build_would() {
    // The Dockerfile as it was when the image did not build: benches/ never copied.
    let partial = "FROM rust:1.95-bookworm AS build\nWORKDIR /src\nCOPY Cargo.toml Cargo.lock ./\nCOPY src src\nCOPY migrations migrations\nRUN cargo build --release --locked --bin campaign-sync\n";
    let out = check_dockerfile(partial, "target\n.git\n");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("bench"), "{}", text(&out));

    // A needed path the ignore file leaves out of the context.
    let whole = "FROM rust:1.95-bookworm AS build\nWORKDIR /src\nCOPY . .\nCOPY migrations /elsewhere/migrations\nRUN cargo build --release --locked\n";
    let out = check_dockerfile(whole, "target\n.git\nmigrations\n");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("'migrations' is not in the build context"),
        "{}",
        text(&out)
    );
}

/// The systemd unit's start limit can trip: its window holds all its restarts, two seconds and
/// a `check-config` apart (with systemd's default, five in ten seconds, the sixth start fell
/// after the window and opened a new one, so a refused configuration restarted forever).
#[test]
fn the_systemd_start_limit_ends_the_restarts() {
    let path = format!(
        "{}/deploy/systemd/campaign-sync.service",
        env!("CARGO_MANIFEST_DIR")
    );
    let unit = std::fs::read_to_string(&path).unwrap();
    let mut section = "";
    let mut settings = std::collections::HashMap::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if let Some((key, value)) = line.split_once('=')
            && !line.starts_with('#')
        {
            settings.insert(key.to_string(), (section, value.to_string()));
        }
    }
    let number = |key: &str, in_section: &str| -> u64 {
        let (section, value) = settings.get(key).unwrap_or_else(|| panic!("{key} is set"));
        assert_eq!(*section, in_section, "{key} belongs in {in_section}");
        value.parse().unwrap_or_else(|_| panic!("{key}={value}"))
    };
    let interval = number("StartLimitIntervalSec", "[Unit]");
    let burst = number("StartLimitBurst", "[Unit]");
    let restart = number("RestartSec", "[Service]");
    // Allow each start five seconds for `check-config` beside the restart delay.
    assert!(
        burst * (restart + 5) <= interval,
        "{burst} starts {restart} s apart do not fit in {interval} s"
    );
}
