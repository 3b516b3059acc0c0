//! The shipped Kubernetes manifests say what they mean: the ConfigMap plus the Secret example
//! make a configuration `check-config` accepts, and the Deployment keeps the restricted
//! pod-security settings, its probes and a pinned image.

use std::process::Command;

use crate::binary::{BIN, text};

fn manifest(name: &str) -> String {
    let path = format!("{}/deploy/kubernetes/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The literal block under `campaign-sync.toml: |`, without its four spaces of indent (the
/// ConfigMap keeps that layout, which this reads without a YAML library).
fn configmap_toml() -> String {
    let configmap = manifest("configmap.yaml");
    let (_, block) = configmap
        .split_once("campaign-sync.toml: |\n")
        .expect("the ConfigMap holds campaign-sync.toml as a literal block");
    block
        .lines()
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect()
}

/// The `KEY: value` pairs under the Secret example's `stringData:`.
fn secret_env() -> Vec<(String, String)> {
    let secret = manifest("secret.example.yaml");
    let (_, data) = secret.split_once("stringData:\n").expect("stringData");
    data.lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[test]
fn the_configmap_with_the_secret_example_is_a_runnable_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campaign-sync.toml");
    std::fs::write(&file, configmap_toml()).unwrap();
    let env = secret_env();
    assert!(env.iter().any(|(k, _)| k == "CAMPAIGN_SYNC_DATABASE_URL"));
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.to_str().unwrap()])
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("warning:"), "{stdout}");
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
    ] {
        assert!(
            deployment.contains(needed),
            "deployment.yaml lacks {needed:?}"
        );
    }
    let image = deployment
        .lines()
        .find_map(|line| line.trim().strip_prefix("image: "))
        .expect("an image line");
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
