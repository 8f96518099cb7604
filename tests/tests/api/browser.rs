//! Headless Chromium driven over WebDriver (`chromedriver`), with no network beyond this
//! machine's loopback: every host name but 127.0.0.1 fails to resolve, and anything not on
//! loopback goes to a proxy that does not exist. Used by the map (Leaflet) and explorer
//! (GraphiQL) tests. Missing tools skip a test, except under `CI`, where they fail it.
use std::time::Duration;

use serde_json::{Value, json};

pub struct Browser {
    driver: tokio::process::Child,
    base: String,
    session: String,
    client: reqwest::Client,
    profile: std::path::PathBuf,
}

fn installed(names: &[&str]) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names
        .iter()
        .find(|name| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .map(|n| (*n).to_owned())
}

/// Says why a browser test cannot run: a failure under CI, else a skip (None).
fn missing(what: &str) -> Option<Browser> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is not installed; .ci/run installs Debian's `chromium` and `chromium-driver`");
    }
    eprintln!("skipped: {what} is not installed (apt-get install chromium chromium-driver)");
    None
}

impl Browser {
    /// A fresh headless Chromium, or None (a skip) when it or chromedriver is not installed.
    pub async fn start() -> Option<Browser> {
        let Some(chromium) = installed(&["chromium", "chromium-browser", "google-chrome"]) else {
            return missing("Chromium");
        };
        let Some(driver) = installed(&["chromedriver"]) else {
            return missing("chromedriver");
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("client");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = client.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on {base}");
        let profile = std::env::temp_dir().join(format!("lup-webdriver-{}", uuid::Uuid::now_v7()));
        let binary = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(&chromium))
            .find(|p| p.is_file())
            .expect("chromium path");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--window-size=1280,900",
                    // No network beyond the servers of the test.
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                    "--proxy-server=http://127.0.0.1:9",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        } } });
        let r: Value = client
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Some(Browser {
            driver,
            base,
            session,
            client,
            profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let r: Value = self
            .client
            .request(method, url)
            .json(&body)
            .send()
            .await
            .expect("WebDriver call")
            .json()
            .await
            .expect("WebDriver JSON");
        r["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        let v = self
            .call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
        assert!(v.is_null(), "navigating to {url}: {v}");
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page and returns its value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Runs `script` until it returns something other than null (or false), for up to `secs`.
    pub async fn wait_for(&self, what: &str, script: &str, secs: u64) -> Value {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.run(script, json!([])).await;
            if !v.is_null() && v != json!(false) && v.get("error").is_none() {
                return v;
            }
            if tokio::time::Instant::now() > until {
                let logs = self.console().await;
                panic!("timed out waiting for {what} (last value {v}); console: {logs:#?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// What the page wrote to the console (errors, CSP violations, failed loads).
    pub async fn console(&self) -> Vec<String> {
        let v = self
            .call(reqwest::Method::POST, "/se/log", json!({ "type": "browser" }))
            .await;
        let entries = v
            .as_array()
            .unwrap_or_else(|| panic!("chromedriver gave no browser log: {v}"));
        entries
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["level"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    pub async fn quit(mut self) {
        let _ = self
            .client
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
