//! A small WebDriver client over reqwest, driving Debian's headless Chromium through
//! `chromedriver` spawned on a free port. Nothing is downloaded: without `/usr/bin/chromium` and
//! `/usr/bin/chromedriver` the test fails and says how to install them.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// Runs `check` every 50 ms until it passes; once `limit` has passed, fails with its reason.
async fn poll_until(limit: Duration, mut check: impl AsyncFnMut() -> Result<(), String>) {
    let deadline = Instant::now() + limit;
    loop {
        let Err(why) = check().await else { return };
        assert!(Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// chromedriver answering on a free port. The port is free when picked, but another test may
/// bind it before chromedriver does, which then exits: it is started again on another.
async fn spawn_driver() -> (Child, u16) {
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if driver.try_wait().ok().flatten().is_some() {
                break;
            }
            let status = http
                .get(format!("http://127.0.0.1:{port}/status"))
                .send()
                .await;
            if status.is_ok_and(|r| r.status().is_success()) {
                return (driver, port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = driver.kill();
        let _ = driver.wait();
    }
    panic!("chromedriver did not answer within 20 s on any of five ports");
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: the console's browser tests need Debian's Chromium \
                 (apt-get update && apt-get install -y chromium chromium-driver; .ci/run does it)"
            );
        }
        let (driver, port) = spawn_driver().await;
        let mut browser = Browser {
            driver,
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{port}"),
        };
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1000"
            ] }
        } } });
        let answer = browser.call(reqwest::Method::POST, "/session", caps).await;
        let session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start a session: {answer}"))
            .to_string();
        browser.base = format!("{}/session/{session}", browser.base);
        // Element look-ups wait up to 5 s for the page (a form's answer) to show them.
        browser
            .call(
                reqwest::Method::POST,
                "/timeouts",
                json!({ "implicit": 5000 }),
            )
            .await;
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let value: Value = response.json().await.expect("chromedriver answers JSON");
        assert!(status.is_success(), "WebDriver {method} {path}: {value}");
        value["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    pub async fn url(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/url", Value::Null).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Waits (at most 10 s) until the page's URL contains `part` (a form's answer arrived).
    pub async fn wait_for_url(&self, part: &str) {
        poll_until(Duration::from_secs(10), async || {
            let url = self.url().await;
            if url.contains(part) {
                return Ok(());
            }
            Err(format!("the browser stayed at {url}, not {part}"))
        })
        .await;
    }

    async fn find(&self, css: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        value[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {value}"))
            .to_string()
    }

    /// Whether an element matches `css` on the current page.
    pub async fn has(&self, css: &str) -> bool {
        let value = self
            .call(
                reqwest::Method::POST,
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        value.as_array().is_some_and(|a| !a.is_empty())
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let value = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                Value::Null,
            )
            .await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Waits (at most 10 s) until the element's text contains `part`: for an answer that
    /// re-renders the same page, where the element is found at once, on the old page too.
    pub async fn wait_for_text(&self, css: &str, part: &str) {
        // Read in one script, so a page replaced meanwhile is never a stale element.
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';";
        poll_until(Duration::from_secs(10), async || {
            let value = self
                .call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    json!({ "script": script, "args": [css] }),
                )
                .await;
            let text = value.as_str().unwrap_or_default().to_string();
            if text.contains(part) {
                return Ok(());
            }
            Err(format!("{css} still reads {text:?}, without {part:?}"))
        })
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// One cookie as the browser holds it (name, value, httpOnly, sameSite, ...).
    pub async fn cookie(&self, name: &str) -> Value {
        self.call(
            reqwest::Method::GET,
            &format!("/cookie/{name}"),
            Value::Null,
        )
        .await
    }

    /// Saves a PNG of the page under `target/console-screenshots/`.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let value = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().expect("base64 screenshot"))
            .expect("a valid screenshot");
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Browser {
    /// Ends the session (Chromium exits), then chromedriver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending chromedriver ends the Chromium it started.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
