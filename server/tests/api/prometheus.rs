use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use server::analysis::budget::{Slo, FAST_BURN};
use server::analysis::{CanaryMetric, MetricPolicy};
use server::engine::Verdict;
use server::integrations::prometheus::{canary_verdict, PrometheusProvider};
use server::integrations::Judgement;

/// A Prometheus server from Debian's package, on a free loopback port, killed on drop.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

fn start_prometheus(target: &str) -> Prometheus {
    start_prometheus_with(target, None)
}

/// Prometheus scraping `target` every second, evaluating `rules` (a rule file) every second.
fn start_prometheus_with(target: &str, rules: Option<&std::path::Path>) -> Prometheus {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    let rule_files = rules.map(|r| format!("rule_files: ['{}']\n", r.display())).unwrap_or_default();
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{rule_files}scrape_configs:\n  - job_name: canary\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .expect("config");
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's prometheus package is installed (scripts/setup installs it)");
    Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir }
}

/// An exporter with a healthy service (checkout) and a regressed one (ledger, +50% latency, and
/// half of its requests failing), 100 requests per scrape each.
async fn exporter(scrapes: State<Arc<AtomicU64>>) -> String {
    let n = scrapes.fetch_add(1, Ordering::SeqCst);
    let noise = |salt: u64| ((n * salt) % 11) as f64;
    let requests = (n + 1) * 100;
    format!(
        "demo_latency_ms{{service=\"checkout\",track=\"baseline\"}} {}\n\
         demo_latency_ms{{service=\"checkout\",track=\"canary\"}} {}\n\
         demo_latency_ms{{service=\"ledger\",track=\"baseline\"}} {}\n\
         demo_latency_ms{{service=\"ledger\",track=\"canary\"}} {}\n\
         demo_requests_total{{service=\"checkout\",code=\"200\"}} {requests}\n\
         demo_requests_total{{service=\"checkout\",code=\"500\"}} {}\n\
         demo_requests_total{{service=\"ledger\",code=\"200\"}} {}\n\
         demo_requests_total{{service=\"ledger\",code=\"500\"}} {}\n\
         demo_regional_latency_ms{{service=\"ledger\",region=\"eu-west\",track=\"baseline\"}} {}\n\
         demo_regional_latency_ms{{service=\"ledger\",region=\"eu-west\",track=\"canary\"}} {}\n\
         demo_regional_latency_ms{{service=\"ledger\",region=\"us-east\",track=\"baseline\"}} {}\n\
         demo_regional_latency_ms{{service=\"ledger\",region=\"us-east\",track=\"canary\"}} {}\n",
        100.0 + noise(37),
        100.0 + noise(53),
        100.0 + noise(41),
        150.0 + noise(59),
        n / 50,
        requests / 2,
        requests / 2,
        100.0 + noise(43),
        150.0 + noise(47),
        100.0 + noise(61),
        100.0 + noise(67),
    )
}

/// Latency per region: `{region}` is the step's.
fn regional_latency() -> Vec<CanaryMetric> {
    vec![CanaryMetric {
        query: "demo_regional_latency_ms{service=\"{service}\",region=\"{region}\",track=\"{track}\"}".into(),
        ..latency().remove(0)
    }]
}

fn latency() -> Vec<CanaryMetric> {
    vec![CanaryMetric {
        name: "latency".into(),
        query: "demo_latency_ms{service=\"{service}\",track=\"{track}\"}".into(),
        group: "latency".into(),
        critical: true,
        dry_run: false,
        policy: MetricPolicy { allowed_increase: 0.1, ..MetricPolicy::default() },
    }]
}

fn wall_now() -> server::time::Instant {
    server::time::Instant::from_utc(chrono::Utc::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_analysis_reads_a_real_prometheus_and_is_inconclusive_when_it_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let target = listener.local_addr().expect("address").to_string();
    let app = Router::new()
        .route("/metrics", get(exporter))
        .route(
            "/slow/api/v1/query_range",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "{}"
            }),
        )
        .with_state(Arc::new(AtomicU64::new(0)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let prometheus = start_prometheus(&target);
    let provider = PrometheusProvider::new(Duration::from_secs(2)).expect("provider");

    // Wait (bounded) until Prometheus holds a dozen scrapes.
    let started = wall_now();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let query = "demo_latency_ms{service=\"ledger\",track=\"canary\"}";
        let samples = provider.range(&prometheus.url, query, started - 60_000, wall_now(), 1).await.unwrap_or_default();
        if samples.len() >= 12 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not collect 12 scrapes within 60 s ({} so far)",
            samples.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let window = (wall_now() - 15_000, wall_now());
    let Judgement { verdict, detail, .. } = canary_verdict(
        &provider,
        &prometheus.url,
        &latency(),
        (&["checkout".into()], "production", None),
        window.0,
        window.1,
    )
    .await;
    assert_eq!(verdict, Verdict::Pass, "{detail}");
    // One service, judged region by region: eu-west's canary regressed, us-east's did not.
    let ledger = ["ledger".to_owned()];
    let regional = regional_latency();
    let us_east = canary_verdict(
        &provider,
        &prometheus.url,
        &regional,
        (&ledger, "production", Some("us-east")),
        window.0,
        window.1,
    )
    .await;
    assert_eq!(us_east.verdict, Verdict::Pass, "{}", us_east.detail);
    let eu_west = canary_verdict(
        &provider,
        &prometheus.url,
        &regional,
        (&ledger, "production", Some("eu-west")),
        window.0,
        window.1,
    )
    .await;
    assert_eq!(eu_west.verdict, Verdict::Fail, "{}", eu_west.detail);
    assert!(
        eu_west.report.metrics[0].canary_query.contains("region=\"eu-west\""),
        "the analysis shows the region's query"
    );
    let judged = canary_verdict(
        &provider,
        &prometheus.url,
        &latency(),
        (&["ledger".into()], "production", None),
        window.0,
        window.1,
    )
    .await;
    let (verdict, detail) = (judged.verdict, &judged.detail);
    assert_eq!(verdict, Verdict::Fail, "{detail}");
    let evidence = &judged.report.metrics[0];
    assert_eq!(evidence.canary_query, "demo_latency_ms{service=\"ledger\",track=\"canary\"}", "the query is kept");
    assert_eq!((evidence.window_start, evidence.window_end), window);
    assert!(evidence.evidence.canary_count >= 10 && evidence.canary.len() == evidence.evidence.canary_count);
    assert!(detail.contains("above baseline"), "{detail}");

    // The ratio SLI through instant queries, and the fast-burn rule on it.
    let slo = Slo::new(0.999, 28 * 24 * 3_600_000).expect("SLO");
    let queries = [
        "sum(increase(demo_requests_total{service=\"{service}\",code!~\"5..\"}[{window}]))",
        "sum(increase(demo_requests_total{service=\"{service}\"}[{window}]))",
    ];
    let end = wall_now();
    let counts = |service: &'static str, span_ms: i64| {
        let (provider, url) = (provider.clone(), prometheus.url.clone());
        async move { provider.sli_counts(&url, queries, service, end - span_ms, end).await.expect("SLI counts") }
    };
    let (long, short) = (counts("ledger", FAST_BURN.long_ms).await, counts("ledger", FAST_BURN.short_ms).await);
    assert!(long.total > 500 && (long.bad() as f64 / long.total as f64 - 0.5).abs() < 0.05, "{long:?}");
    assert!(FAST_BURN.breached(&slo, long, short), "ledger fails half its requests: {long:?} {short:?}");
    let (long, short) = (counts("checkout", FAST_BURN.long_ms).await, counts("checkout", FAST_BURN.short_ms).await);
    assert!(long.total > 500 && !FAST_BURN.breached(&slo, long, short), "checkout is healthy: {long:?} {short:?}");
    let garbage = format!("http://{target}/metrics#");
    let garbage_sli = provider.sli_counts(&garbage, queries, "ledger", end - 60_000, end).await;
    assert!(garbage_sli.is_err(), "garbage is an error, never a count");

    // Garbage: something that is not Prometheus's JSON API.
    let Judgement { verdict, detail, .. } =
        canary_verdict(&provider, &garbage, &latency(), (&["ledger".into()], "production", None), window.0, window.1)
            .await;
    assert_eq!(verdict, Verdict::NoData, "{detail}");
    // Slower than the timeout.
    let slow = format!("http://{target}/slow");
    let Judgement { verdict, detail, .. } =
        canary_verdict(&provider, &slow, &latency(), (&["ledger".into()], "production", None), window.0, window.1)
            .await;
    assert_eq!((verdict, detail.contains("did not answer")), (Verdict::NoData, true), "{detail}");
    // Stopped mid-analysis.
    let url = prometheus.url.clone();
    drop(prometheus);
    let Judgement { verdict, detail, .. } =
        canary_verdict(&provider, &url, &latency(), (&["ledger".into()], "production", None), window.0, window.1).await;
    assert_eq!(verdict, Verdict::NoData, "inconclusive, never a pass: {detail}");
}

/// Requests per scrape, and errors per scrape for each service: ledger 50%, wallet 1% (between
/// the 6x and 14.4x thresholds of a 99.9% SLO), checkout 0.05% (under budget).
async fn slo_exporter(scrapes: State<Arc<AtomicU64>>) -> String {
    let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
    let mut text = String::new();
    for (service, errors) in [("ledger", 1000), ("wallet", 20), ("checkout", 1)] {
        text.push_str(&format!("slo_requests_total{{service=\"{service}\",code=\"200\"}} {}\n", n * (2000 - errors)));
        text.push_str(&format!("slo_requests_total{{service=\"{service}\",code=\"500\"}} {}\n", n * errors));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_slo_rules_pass_promtool_and_prometheus_fires_each_burn_alert_above_its_threshold_only() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, false).await;
    let mut fleet = String::from("[[domain]]\nname = \"payments\"\n");
    for service in ["ledger", "wallet", "checkout"] {
        fleet.push_str(&format!(
            "\n[[service]]\nname = \"{service}\"\ndomain = \"payments\"\nrunbook = \"https://wiki.example/{service}\"\n\
             slo = {{ target = 0.999, window = \"28d\", \
             good = 'sum(increase(slo_requests_total{{service=\"{{service}}\",code!~\"5..\"}}[{{window}}]))', \
             total = 'sum(increase(slo_requests_total{{service=\"{{service}}\"}}[{{window}}]))' }}\n"
        ));
    }
    let parsed = server::fleet::parse("fleet.toml", &fleet).expect("valid");
    server::fleet::apply(&app.db, &parsed, crate::helpers::test_now()).await.expect("apply");
    let (rules, skipped) = server::fleet::slo_rules(&app.db).await.expect("rules");
    assert!(skipped.is_empty(), "{skipped:?}");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("railyard-slo.rules.yml");
    std::fs::write(&file, &rules).expect("write");
    let check = Command::new("promtool").args(["check", "rules"]).arg(&file).output().expect("promtool runs");
    assert!(
        check.status.success(),
        "promtool check rules: {}{}\n{rules}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let target = listener.local_addr().expect("address").to_string();
    let exporter = Router::new().route("/metrics", get(slo_exporter)).with_state(Arc::new(AtomicU64::new(0)));
    tokio::spawn(async move { axum::serve(listener, exporter).await });
    let prometheus = start_prometheus_with(&target, Some(&file));
    let client = reqwest::Client::new();
    let expected =
        [("ledger", "fast"), ("ledger", "slow"), ("ledger", "ticket"), ("wallet", "slow"), ("wallet", "ticket")];
    let deadline = Instant::now() + Duration::from_secs(60);
    let firing = loop {
        let answer: serde_json::Value = match client.get(format!("{}/api/v1/alerts", prometheus.url)).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        let mut firing: Vec<(String, String, String)> = answer["data"]["alerts"]
            .as_array()
            .map(|alerts| {
                alerts
                    .iter()
                    .filter(|a| a["state"] == "firing" && a["labels"]["alertname"] == "RailyardErrorBudgetBurn")
                    .map(|a| {
                        let label = |name: &str| a["labels"][name].as_str().unwrap_or_default().to_owned();
                        (label("service"), label("burn"), label("severity"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        firing.sort();
        if firing.len() >= expected.len() || Instant::now() > deadline {
            break firing;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut wanted: Vec<(String, String, String)> = expected
        .iter()
        .map(|(service, burn)| {
            let severity = if *burn == "ticket" { "ticket" } else { "page" };
            ((*service).to_owned(), (*burn).to_owned(), severity.to_owned())
        })
        .collect();
    wanted.sort();
    assert_eq!(
        firing, wanted,
        "ledger (50% errors) fires all three; wallet (1%) the 6x and 1x ones; checkout (0.05%) none"
    );
}
