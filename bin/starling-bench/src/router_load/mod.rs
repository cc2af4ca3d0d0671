//! `starling-bench router`: N components exchange routes through a component router.
//!
//! Component i sends to component i+1 (mod N), or to all others in turn with `--all-to-all`.
//! Max mode keeps `--window` routes in flight per sender; `--rate` offers a fixed total load.
//! After `--warmup` seconds, routes are counted for `--seconds`; senders then stop and in-flight
//! routes get up to `--drain` seconds to arrive before the rest count as lost.

mod receiver;
mod report;
mod scan;
mod sender;
mod shared;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use xml_stream::writer::FOOTER;

use crate::connect::{self, Bound, Login, MechanismArg};
use crate::stats::{CpuMeter, Latencies};
use crate::Error;
use receiver::{Inbound, ParseMode, ReceiverStats};
use report::Report;
use sender::Pace;
use shared::Shared;
use traffic::{Plan, RouteWriter};

#[derive(Args, Debug, Clone)]
pub struct RouterArgs {
    /// The router's component port, HOST:PORT.
    #[arg(long)]
    router: String,
    /// Number of components; each both sends and receives.
    #[arg(long, default_value_t = 8)]
    components: usize,
    /// SASL mechanism: scram-sha-256 for Starling, digest-md5 for jabberd2's router.
    #[arg(long, value_enum, default_value_t = MechanismArg::ScramSha256)]
    mechanism: MechanismArg,
    /// Password of every account (`<prefix>1` … `<prefix>N`).
    #[arg(long)]
    password: String,
    /// Account and route name prefix.
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Total routes per second, spread evenly over the senders; without it, max mode.
    #[arg(long)]
    rate: Option<u64>,
    /// Max mode: routes each sender keeps unacknowledged.
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// Max mode: a sender tops its window up once this many slots are free (default: a
    /// quarter of the window), so each write carries several routes.
    #[arg(long)]
    batch: Option<u64>,
    /// Length of the measurement, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of traffic before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds to wait after the measurement for routes still in flight.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Every component sends to every other in turn (default: to its successor only).
    #[arg(long)]
    all_to_all: bool,
    /// How receivers read arrivals: scan (cheap) or full (xml-stream's validating parser).
    #[arg(long, value_enum, default_value_t = ParseMode::Scan)]
    parse: ParseMode,
    /// Size of each message body, in bytes.
    #[arg(long, default_value_t = 100)]
    body_bytes: usize,
    /// Name of the router under test, repeated in the result line.
    #[arg(long, default_value = "router")]
    label: String,
    /// PID of the router, to report its CPU use during the measurement.
    #[arg(long)]
    router_pid: Option<u32>,
    /// Worker threads of the bench (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds allowed for connecting, authenticating and binding each component.
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
}

pub fn run(args: RouterArgs) -> Result<(), Error> {
    validate(&args)?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().build()?;
    let result = runtime.block_on(bench(args));
    runtime.shutdown_timeout(Duration::from_secs(1));
    let (report, first_error) = result?;
    println!("{report}");
    match first_error {
        Some(e) => Err(format!(
            "{} connection(s) failed during the run; first: {e}",
            report.errors
        )
        .into()),
        None => Ok(()),
    }
}

fn validate(args: &RouterArgs) -> Result<(), Error> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if args.components == 0 {
        return Err("--components must be at least 1".into());
    }
    if args.window == 0 || args.rate == Some(0) {
        return Err("--window and --rate must be positive".into());
    }
    if !positive(args.seconds) || !positive(args.connect_timeout) {
        return Err("--seconds and --connect-timeout must be positive".into());
    }
    if !(args.warmup.is_finite()
        && args.warmup >= 0.0
        && args.drain.is_finite()
        && args.drain >= 0.0)
    {
        return Err("--warmup and --drain must be zero or more".into());
    }
    Ok(())
}

async fn bench(args: RouterArgs) -> Result<(Report, Option<String>), Error> {
    let plan = Plan {
        prefix: args.prefix.clone(),
        components: args.components,
        all_to_all: args.all_to_all,
    };
    let connections = connect_all(&args, &plan).await?;

    let shared = Arc::new(Shared::new(
        plan.clone(),
        Duration::from_secs_f64(args.warmup),
        Duration::from_secs_f64(args.seconds),
        args.rate.is_none(),
    ));
    let pace = match args.rate {
        None => Pace::Window {
            window: args.window,
            batch: args.batch.unwrap_or(args.window / 4).clamp(1, args.window),
        },
        Some(rate) => Pace::Rate(rate as f64 / args.components as f64),
    };
    let (done_tx, done_rx) = watch::channel(false);
    let mut senders = JoinSet::new();
    let mut receivers = JoinSet::new();
    for (index, bound) in connections.into_iter().enumerate() {
        let (read, write) = bound.tcp.into_split();
        let inbound = Inbound {
            read,
            parser: bound.parser,
            pending: bound.pending,
        };
        let writer = RouteWriter::new(&plan, index, args.body_bytes);
        receivers.spawn(receiver::run(
            shared.clone(),
            inbound,
            args.parse,
            done_rx.clone(),
        ));
        senders.spawn(sender::run(shared.clone(), index, write, writer, pace));
    }

    sleep_until(shared.instant_at(shared.warm_end_ns)).await;
    let bench_cpu = CpuMeter::process(std::process::id());
    let router_cpu = args.router_pid.map(CpuMeter::process);
    let machine_cpu = CpuMeter::machine();
    sleep_until(shared.instant_at(shared.measure_end_ns)).await;
    let bench_cpu_pct = bench_cpu.percent(args.seconds);
    let router_cpu_pct = router_cpu.and_then(|m| m.percent(args.seconds));
    // What neither the bench nor the router used: other work competing for the cores.
    let other_cpu_pct = match (
        machine_cpu.percent(args.seconds),
        bench_cpu_pct,
        router_cpu_pct,
    ) {
        (Some(all), Some(bench), Some(router)) => Some((all - bench - router).max(0.0)),
        _ => None,
    };

    let (mut unsent, mut errors, mut first_error) = (0, 0, None);
    let mut writes = Vec::new();
    while let Some(result) = senders.join_next().await {
        let result = result?;
        unsent += result.unsent;
        if let Some(e) = result.error {
            errors += 1;
            first_error.get_or_insert(e);
        }
        writes.push(result.write);
    }
    let drain_end = Instant::now() + Duration::from_secs_f64(args.drain);
    while shared.outstanding() > 0 && Instant::now() < drain_end {
        sleep(Duration::from_millis(5)).await;
    }
    let _ = done_tx.send(true);
    let received = collect(&mut receivers).await;
    close_all(writes).await;

    let mut latencies = Latencies::new();
    let (mut routes, mut delivered, mut bounced) = (0, 0, 0);
    for stats in &received {
        latencies.merge(&stats.latencies);
        routes += stats.arrived_in_window;
        delivered += stats.delivered;
        bounced += stats.bounced;
        if let Some(e) = &stats.error {
            errors += 1;
            first_error.get_or_insert_with(|| e.clone());
        }
    }
    let report = Report {
        label: args.label,
        components: args.components,
        rate: args.rate,
        window: args.window,
        seconds: args.seconds,
        routes,
        latencies,
        lost: shared.total_sent().saturating_sub(delivered),
        bounced,
        unsent,
        bench_cpu_pct,
        router_cpu_pct,
        other_cpu_pct,
        errors,
    };
    Ok((report, first_error))
}

/// Connects and binds every component concurrently; any failure fails the run.
async fn connect_all(args: &RouterArgs, plan: &Plan) -> Result<Vec<Bound>, Error> {
    let router = tokio::net::lookup_host(&args.router)
        .await
        .map_err(|e| format!("--router {}: {e}", args.router))?
        .next()
        .ok_or_else(|| format!("--router {}: no address", args.router))?;
    let host = args
        .router
        .rsplit_once(':')
        .map_or(args.router.as_str(), |(h, _)| h)
        .trim_matches(['[', ']'])
        .to_owned();
    let mut pending = JoinSet::new();
    for index in 0..plan.components {
        let name = plan.name(index);
        let login = Login {
            router,
            host: host.clone(),
            mechanism: args.mechanism,
            user: name.clone(),
            password: args.password.clone(),
            timeout: Duration::from_secs_f64(args.connect_timeout),
        };
        pending.spawn(async move { (index, connect::component(&login, &name).await) });
    }
    let mut connections: Vec<Option<Bound>> = (0..plan.components).map(|_| None).collect();
    while let Some(joined) = pending.join_next().await {
        let (index, conn) = joined?;
        connections[index] = Some(conn?);
    }
    Ok(connections.into_iter().flatten().collect())
}

/// The receivers' results; a receiver that does not stop within a second is abandoned.
async fn collect(receivers: &mut JoinSet<ReceiverStats>) -> Vec<ReceiverStats> {
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while let Ok(Some(joined)) = timeout(
        deadline.saturating_duration_since(Instant::now()),
        receivers.join_next(),
    )
    .await
    {
        if let Ok(stats) = joined {
            all.push(stats);
        }
    }
    all
}

/// Ends every stream with `</stream:stream>`, giving the router a second to take them.
async fn close_all(writes: Vec<OwnedWriteHalf>) {
    let closing = async {
        for mut write in writes {
            let _ = write.write_all(FOOTER).await;
            let _ = write.shutdown().await;
        }
    };
    let _ = timeout(Duration::from_secs(1), closing).await;
}
