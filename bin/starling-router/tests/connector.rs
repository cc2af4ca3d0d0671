//! The component connector (crates/component) against the real `starling-router` executable:
//! authentication, binds, routes both ways, advertisements, and reconnecting and re-binding by
//! itself after the router restarts.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use component::wire::{Bind, Packet, Route};
use component::{Component, ConnectorConfig, Event};
use minidom::Element;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

struct RouterProcess(Child);

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_router(config: &Path, port: u16) -> RouterProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_starling-router"))
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("router starts");
    let deadline = std::time::Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "router port never opened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    RouterProcess(child)
}

fn bind(name: &str) -> Bind {
    Bind {
        name: Some(name.into()),
        ..Bind::default()
    }
}

fn connector(port: u16, user: &str) -> (Component, Receiver<Event>) {
    let mut config = ConnectorConfig::new(
        vec![format!("127.0.0.1:{port}")],
        user,
        "secret",
        vec![bind(user)],
    );
    config.retry_min = Duration::from_millis(50);
    config.retry_max = Duration::from_millis(400);
    Component::spawn(config)
}

/// The next event that is not an advertisement.
async fn next_event(events: &mut Receiver<Event>) -> Event {
    loop {
        let event = timeout(WAIT, events.recv())
            .await
            .expect("an event in time")
            .expect("connector alive");
        if !matches!(event, Event::Packet(Packet::Presence { .. })) {
            return event;
        }
    }
}

async fn next_route(events: &mut Receiver<Event>) -> Route {
    match next_event(events).await {
        Event::Packet(Packet::Route(route)) => route,
        other => panic!("expected a route, got {other:?}"),
    }
}

fn message(to: &str, from: &str, id: &str) -> Element {
    format!("<message xmlns='jabber:client' to='{to}' from='{from}' id='{id}'><body>hi</body></message>")
        .parse()
        .expect("message parses")
}

#[tokio::test]
async fn connector_routes_and_survives_a_router_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = dir.path().join("router.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:{port}\"]\n\
             [users.alpha]\npassword = \"secret\"\n\
             [users.beta]\npassword = \"secret\"\n"
        ),
    )
    .expect("config written");
    let router = start_router(&config, port);

    let (alpha, mut alpha_events) = connector(port, "alpha");
    let (beta, mut beta_events) = connector(port, "beta");
    assert!(matches!(next_event(&mut alpha_events).await, Event::Online));
    assert!(matches!(next_event(&mut beta_events).await, Event::Online));

    alpha
        .send_route(Route::unicast(
            "beta",
            "alpha",
            message("b@beta", "a@alpha", "1"),
        ))
        .expect("sent");
    let got = next_route(&mut beta_events).await;
    assert_eq!(got.from.as_deref(), Some("alpha"));
    assert_eq!(
        got.payload
            .and_then(|p| p.attr("id").map(str::to_owned))
            .as_deref(),
        Some("1")
    );

    // A spoofed from comes back to the sender as a bounce.
    alpha
        .send_route(Route::unicast(
            "beta",
            "beta",
            message("b@beta", "x@beta", "spoof"),
        ))
        .expect("sent");
    assert_eq!(
        next_route(&mut alpha_events).await.error.as_deref(),
        Some("401")
    );

    drop(router);
    assert!(matches!(
        next_event(&mut alpha_events).await,
        Event::Offline
    ));
    assert!(matches!(next_event(&mut beta_events).await, Event::Offline));
    assert!(!alpha.is_online());

    let _router = start_router(&config, port);
    assert!(matches!(next_event(&mut alpha_events).await, Event::Online));
    assert!(matches!(next_event(&mut beta_events).await, Event::Online));
    // Re-bound by itself: routes flow again.
    beta.send_route(Route::unicast(
        "alpha",
        "beta",
        message("a@alpha", "b@beta", "2"),
    ))
    .expect("sent");
    let got = next_route(&mut alpha_events).await;
    assert_eq!(
        got.payload
            .and_then(|p| p.attr("id").map(str::to_owned))
            .as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn connector_reports_a_refused_bind_by_retrying_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = dir.path().join("router.toml");
    std::fs::write(
        &config,
        format!("listen = [\"127.0.0.1:{port}\"]\n[users.gamma]\npassword = \"secret\"\n"),
    )
    .expect("config written");
    let _router = start_router(&config, port);
    let mut settings = ConnectorConfig::new(
        vec![format!("127.0.0.1:{port}")],
        "gamma",
        "wrong",
        vec![bind("gamma")],
    );
    settings.retry_min = Duration::from_millis(50);
    let (gamma, mut events) = Component::spawn(settings);
    // Wrong password: never online, nothing to send with.
    assert!(timeout(Duration::from_millis(500), events.recv())
        .await
        .is_err());
    assert!(!gamma.is_online());
    assert_eq!(
        gamma.send(&Packet::Throttle),
        Err(component::SendError::NotConnected)
    );
}

#[tokio::test]
async fn connector_starts_tls_when_the_router_requires_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = daemon::tls::ensure_self_signed(dir.path(), &["router.test".to_owned()])
        .expect("certificate");
    let port = free_port();
    let config = dir.path().join("router.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:{port}\"]\n\
             [tls]\ncertificate = {cert:?}\nkey = {key:?}\nrequired = true\n\
             [users.delta]\npassword = \"secret\"\n"
        ),
    )
    .expect("config written");
    let _router = start_router(&config, port);
    let mut settings = ConnectorConfig::new(
        vec![format!("127.0.0.1:{port}")],
        "delta",
        "secret",
        vec![bind("delta")],
    );
    let client = daemon::tls::client_config(Some(&cert)).expect("client TLS config");
    settings.tls = Some(component::connector::TlsSettings {
        connector: tokio_rustls::TlsConnector::from(client),
        server_name: rustls_pki_types::ServerName::try_from("router.test")
            .expect("a DNS name")
            .to_owned(),
        required: true,
    });
    let (delta, mut events) = Component::spawn(settings);
    assert!(matches!(next_event(&mut events).await, Event::Online));
    // Bound over TLS: a route to itself comes back.
    delta
        .send_route(Route::unicast(
            "delta",
            "delta",
            message("x@delta", "y@delta", "3"),
        ))
        .expect("sent");
    let got = next_route(&mut events).await;
    assert_eq!(
        got.payload
            .and_then(|p| p.attr("id").map(str::to_owned))
            .as_deref(),
        Some("3")
    );
}
