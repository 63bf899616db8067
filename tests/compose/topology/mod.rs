//! docker-compose.yml run without Docker: each service replica in a network
//! namespace of its own on one bridge, started in `depends_on` order once
//! its dependencies are healthy by their compose healthchecks.
//!
//! What stands in for each image:
//! - the project's image (`build: .`): the binaries in
//!   [`Options::bin_dir`], run with the compose `command` and exactly the
//!   compose `environment` (`env -i`, plus `PATH` and `HOME`), as root (the
//!   image's user `food` could not read a target dir under /root); bind
//!   mounts appear at their container paths for that process alone (a
//!   private mount namespace, an overlay where the target's parent does not
//!   exist, so the host's /etc is never written); their healthchecks run
//!   verbatim inside the replica's namespaces (`nsenter`), as `docker exec`
//!   would;
//! - `apache/kafka`: Apache Kafka from its jars on Java 17, configured from
//!   the service's `KAFKA_*` variables as the image does (`KAFKA_FOO_BAR` →
//!   `foo.bar`, `__` → `-`, `___` → `_`; storage formatted first; paths
//!   under a volume's target moved to the volume's folder), plus a listener
//!   on 29092 advertised by address, for the test process only; its
//!   healthcheck (a script of the image) is replaced by a TCP probe of 9092;
//! - `postgres`: the machine's PostgreSQL (15) binaries as the `postgres`
//!   user, initialised as the image's entrypoint does (`POSTGRES_USER`
//!   superuser with `POSTGRES_PASSWORD`, scram-sha-256 over TCP,
//!   `POSTGRES_DB` created, the files mounted at
//!   /docker-entrypoint-initdb.d applied with psql); its `pg_isready`
//!   healthcheck runs with the socket's directory added.
//!
//! Named volumes are folders of the run's temporary dir. Every process
//! runs under a lifeline ([`process`]), and [`Topology`]'s `Drop` kills
//! whatever runs in its namespaces and removes them, their links, the
//! bridge, the /etc/netns dirs and the temporary dir.
//!
//! Layout: [`compose`] reads the file; [`net`] makes the bridge, the
//! namespaces and their hosts files; [`process`] the lifelines; [`images`]
//! the Kafka and PostgreSQL stand-ins; this module starts, probes and
//! stops replicas.

pub mod compose;
mod images;
mod net;
mod process;

use std::{
    collections::{BTreeMap, BTreeSet},
    ffi::OsString,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Output, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use compose::{Condition, Healthcheck, Project, Service, Source};
use images::{TOOLS_LOG4J2, as_postgres_user, postgres_bin};
use net::{Endpoint, Network};
use process::Lifelined;

/// How to run the topology.
#[derive(Clone, Debug)]
pub struct Options {
    /// The compose file to run (default: the repo's docker-compose.yml).
    pub compose_file: PathBuf,
    /// Replicas per service, as `docker compose up --scale NAME=N` (default 1).
    pub scale: BTreeMap<String, usize>,
    /// Where the project binaries are (menu-service, order-service,
    /// delivery-service, gateway, foodctl): `FOOD_BIN_DIR`, else the
    /// target/<profile> dir this test binary was built into (where `cargo
    /// test --workspace` and `cargo build --bins` put them).
    pub bin_dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        let bin_dir = std::env::var_os("FOOD_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                // target/<profile>/deps/compose-<hash>
                let exe = std::env::current_exe().expect("the test binary's path");
                exe.parent()
                    .and_then(Path::parent)
                    .expect("target/<profile>")
                    .to_path_buf()
            });
        Self {
            compose_file: repo().join("docker-compose.yml"),
            scale: BTreeMap::new(),
            bin_dir,
        }
    }
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repo")
        .to_path_buf()
}

/// The port of the Kafka listener the harness adds for the test process.
const KAFKA_HOST_PORT: u16 = 29092;
/// The Kafka listener the services use (`kafka:9092`), probed for health.
const KAFKA_PORT: u16 = 9092;
const POSTGRES_PORT: u16 = 5432;
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A running compose topology. Dropping it removes every namespace, link,
/// /etc/netns dir, process and temporary file it made.
pub struct Topology {
    project: Project,
    options: Options,
    services: BTreeMap<String, Svc>,
    /// The one hosts file every namespace gets.
    hosts: String,
    /// `(service, container port)` → the host port forwarding to it.
    published: BTreeMap<(String, u16), u16>,
    forwarders: Vec<tokio::task::JoinHandle<()>>,
    /// When `up` began; the timeline's zero.
    began: Instant,
    up_took: Duration,
    jars: Option<PathBuf>,
    pg_bin: Option<PathBuf>,
    one_offs: std::sync::atomic::AtomicUsize,
    // Dropped in this order, after the processes (see `Drop`).
    net: Mutex<Network>,
    root: tempfile::TempDir,
}

struct Svc {
    spec: Service,
    kind: Kind,
    replicas: Vec<Replica>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The project's image: a binary of `bin_dir`.
    Project,
    Kafka,
    Postgres,
}

struct Replica {
    service: String,
    /// From 1, as compose numbers containers.
    n: usize,
    endpoint: Endpoint,
    /// Its private folder: log, HOME, configuration.
    dir: PathBuf,
    log: PathBuf,
    process: Mutex<Option<Lifelined>>,
    state: Mutex<ReplicaState>,
}

#[derive(Default)]
struct ReplicaState {
    /// Since `up` began.
    started: Option<Duration>,
    healthy: Option<Duration>,
    /// The last healthcheck's output line, with its verdict.
    last_check: Option<String>,
    /// Healthchecks run.
    probes: u32,
}

impl Topology {
    /// Starts the compose topology in depends_on order, each service once its
    /// dependencies are healthy by their compose healthcheck (interval,
    /// timeout, retries, start_period); Err names the service, its last
    /// healthcheck output and the tail of its log.
    pub async fn up(options: Options) -> anyhow::Result<Topology> {
        let began = Instant::now();
        let project = Project::load(&options.compose_file)?;
        let active: BTreeMap<String, Service> = project
            .services
            .iter()
            .filter(|(_, s)| s.profiles.is_empty())
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for name in options.scale.keys() {
            if !active.contains_key(name) {
                bail!("--scale {name}: no such service (without a profile) in the compose file");
            }
        }
        check_dependencies(&active)?;
        let mut kinds = BTreeMap::new();
        for (name, s) in &active {
            let kind = kind_of(s)?;
            if kind != Kind::Project && options.scale.get(name).copied().unwrap_or(1) != 1 {
                bail!("{name}: the harness runs one {kind:?} only");
            }
            if kind == Kind::Project {
                check_binary(s, &options.bin_dir)?;
            }
            kinds.insert(name.clone(), kind);
        }
        let jars = if kinds.values().any(|k| *k == Kind::Kafka) {
            Some(tokio::task::spawn_blocking(food_broker::apache::jars_dir).await??)
        } else {
            None
        };
        let pg_bin = if kinds.values().any(|k| *k == Kind::Postgres) {
            Some(postgres_bin()?)
        } else {
            None
        };

        let mut root = tempfile::Builder::new()
            .prefix(&format!("food-compose-{}-", std::process::id()))
            .tempdir()?;
        if std::env::var_os("FOOD_COMPOSE_KEEP").is_some() {
            // Logs and data stay for a look after the run.
            root.disable_cleanup(true);
            std::fs::write(root.path().join(".keep"), "")?;
            eprintln!("compose: keeping {}", root.path().display());
        }
        // The postgres user walks through it to its data and socket.
        chmod(root.path(), 0o755)?;
        for v in &project.volumes {
            let dir = root.path().join("volumes").join(v);
            std::fs::create_dir_all(&dir)?;
            chmod(&dir, 0o755)?;
        }
        let mut net = Network::create()?;
        let mut services = BTreeMap::new();
        let mut host = 2u8;
        let mut hosts =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        let mut made = Ok(());
        'services: for (name, spec) in active {
            let count = options.scale.get(&name).copied().unwrap_or(1);
            let mut replicas = Vec::new();
            for n in 1..=count {
                let endpoint = match net.add(&name, n, host) {
                    Ok(e) => e,
                    Err(e) => {
                        made = Err(e);
                        break 'services;
                    }
                };
                host = host.checked_add(1).context("more than 253 replicas")?;
                hosts.push_str(&format!(
                    "{}\t{name} {}-{name}-{n}\n",
                    endpoint.address, project.name
                ));
                let dir = root.path().join("replicas").join(format!("{name}-{n}"));
                std::fs::create_dir_all(dir.join("home"))?;
                chmod(&dir, 0o755)?;
                replicas.push(Replica {
                    service: name.clone(),
                    n,
                    endpoint,
                    log: dir.join("output.log"),
                    dir,
                    process: Mutex::new(None),
                    state: Mutex::new(ReplicaState::default()),
                });
            }
            let kind = kinds[&name];
            services.insert(
                name,
                Svc {
                    spec,
                    kind,
                    replicas,
                },
            );
        }
        let mut this = Topology {
            project,
            options,
            services,
            hosts,
            published: BTreeMap::new(),
            forwarders: Vec::new(),
            began,
            up_took: Duration::ZERO,
            jars,
            pg_bin,
            one_offs: Default::default(),
            net: Mutex::new(net),
            root,
        };
        made?;
        {
            let net = this.net.lock().unwrap();
            for ns in net.namespaces() {
                net.write_hosts(ns, &this.hosts)?;
            }
        }
        this.publish_ports().await?;
        this.bring_up().await?;
        this.up_took = began.elapsed();
        Ok(this)
    }

    /// http://127.0.0.1:<port>: the gateway's published port (the compose
    /// `ports:` mapping, on a free host port).
    pub fn gateway_url(&self) -> String {
        let port = self
            .published
            .iter()
            .find(|((s, _), _)| s == "gateway")
            .map(|(_, p)| *p)
            .expect("the gateway publishes a port");
        format!("http://127.0.0.1:{port}")
    }

    /// Replicas of a service, numbered from 1 as compose does.
    /// Where the project binaries it runs are.
    pub fn bin_dir(&self) -> &Path {
        &self.options.bin_dir
    }

    pub fn replicas(&self, service: &str) -> usize {
        self.services.get(service).map_or(0, |s| s.replicas.len())
    }

    pub fn address(&self, service: &str, replica: usize) -> Ipv4Addr {
        self.replica(service, replica)
            .expect("a replica of the topology")
            .endpoint
            .address
    }

    /// The replica's network namespace (for `ip netns exec`).
    pub fn namespace(&self, service: &str, replica: usize) -> String {
        self.replica(service, replica)
            .expect("a replica of the topology")
            .endpoint
            .namespace
            .clone()
    }

    /// Every namespace of the run.
    pub fn namespaces(&self) -> Vec<String> {
        self.net
            .lock()
            .unwrap()
            .namespaces()
            .map(str::to_owned)
            .collect()
    }

    /// The bridge (its name), holding the host's address on the subnet.
    pub fn bridge(&self) -> String {
        self.net.lock().unwrap().bridge.clone()
    }

    /// The run's subnet, `a.b.c.0/24`.
    pub fn subnet(&self) -> String {
        self.net.lock().unwrap().subnet()
    }

    /// The host end of the replica's veth pair.
    pub fn veth(&self, service: &str, replica: usize) -> String {
        self.replica(service, replica)
            .expect("a replica of the topology")
            .endpoint
            .veth
            .clone()
    }

    /// postgres://food:food@<address>:5432/<db>, reachable from the test process.
    pub fn postgres_url(&self, database: &str) -> String {
        let (_, svc) = self
            .services
            .iter()
            .find(|(_, s)| s.kind == Kind::Postgres)
            .expect("a postgres service");
        let env = &svc.spec.environment;
        let user = env.get("POSTGRES_USER").map_or("postgres", String::as_str);
        let password = env.get("POSTGRES_PASSWORD").map_or("", String::as_str);
        format!(
            "postgres://{user}:{password}@{}:{POSTGRES_PORT}/{database}",
            svc.replicas[0].endpoint.address
        )
    }

    /// Kafka bootstrap reachable from the test process: a listener the
    /// harness adds beside the compose ones, advertised by address (the
    /// advertised `kafka:9092` resolves inside the namespaces only).
    pub fn kafka_bootstrap(&self) -> String {
        let (_, svc) = self
            .services
            .iter()
            .find(|(_, s)| s.kind == Kind::Kafka)
            .expect("a kafka service");
        format!("{}:{KAFKA_HOST_PORT}", svc.replicas[0].endpoint.address)
    }

    /// An rdkafka ClientConfig with [`Topology::kafka_bootstrap`] set.
    pub fn kafka_client_config(&self) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", self.kafka_bootstrap());
        c
    }

    /// Runs a command inside a service's namespace (e.g. the Kafka tools'
    /// ConsumerGroupCommand in the kafka namespace); returns its output.
    /// Like `docker exec`: the replica's network and mount namespaces and
    /// its environment (`env -i`, the compose environment, PATH, HOME).
    pub async fn exec(
        &self,
        service: &str,
        replica: usize,
        argv: &[&str],
    ) -> anyhow::Result<std::process::Output> {
        let (svc, r) = self.svc_replica(service, replica)?;
        let mut full = self.enter(r);
        full.extend(self.env_argv(svc, r));
        full.extend(argv.iter().map(OsString::from));
        let mut command = tokio::process::Command::new(&full[0]);
        command
            .args(&full[1..])
            .current_dir(r.dir.join("home"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .with_context(|| format!("{argv:?} in {service}-{replica} took over 120 s"))?
            .with_context(|| format!("running {argv:?} in {service}-{replica}"))
    }

    /// Runs one of Apache Kafka's tools (its main class, e.g.
    /// `org.apache.kafka.tools.consumer.group.ConsumerGroupCommand`) in the
    /// kafka service's namespace, where `kafka:9092` resolves.
    pub async fn kafka_tool(&self, main_class: &str, args: &[&str]) -> anyhow::Result<Output> {
        let (name, svc) = self
            .services
            .iter()
            .find(|(_, s)| s.kind == Kind::Kafka)
            .context("no kafka service")?;
        let jars = self.jars.as_ref().context("the Kafka jars")?;
        let quiet = svc.replicas[0].dir.join("tools-log4j2.properties");
        std::fs::write(&quiet, TOOLS_LOG4J2)?;
        let argv = food_broker::apache::java_argv(jars, 256, &quiet, main_class);
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.exec(name, 1, &argv).await
    }

    /// SIGKILL a replica's process; it stays down (as `docker kill`).
    pub fn kill(&mut self, service: &str, replica: usize) -> anyhow::Result<()> {
        let r = self.replica(service, replica)?;
        let process = r.process.lock().unwrap().take();
        match process {
            Some(p) => {
                // Its Drop SIGKILLs it and waits until it is reaped.
                drop(p);
                Ok(())
            }
            None => bail!("{service}-{replica} is not running"),
        }
    }

    /// Starts a replica whose process was killed or ended again, as
    /// compose's `restart:` policy does, and waits until it is healthy by
    /// its compose healthcheck (timed as at `up`: the first probe one
    /// interval after the start); how long that took.
    pub async fn restart(&self, service: &str, replica: usize) -> anyhow::Result<Duration> {
        let (svc, r) = self.svc_replica(service, replica)?;
        if let Some(p) = r.process.lock().unwrap().as_mut() {
            anyhow::ensure!(p.try_wait().is_some(), "{service}-{replica} still runs");
        }
        // The ended lifeline's Drop has nothing left to kill.
        drop(r.process.lock().unwrap().take());
        let started = Instant::now();
        self.start_replica(svc, r).await?;
        if let Some(check) = &svc.spec.healthcheck {
            self.until_healthy(svc, r, check, started).await?;
        }
        Ok(started.elapsed())
    }

    /// The pid of a replica's process (the service itself, not a wrapper).
    pub fn pid(&self, service: &str, replica: usize) -> anyhow::Result<u32> {
        let r = self.replica(service, replica)?;
        let mut p = r.process.lock().unwrap();
        p.as_mut()
            .and_then(|p| p.try_wait().is_none().then_some(p.pid))
            .with_context(|| format!("{service}-{replica} is not running"))
    }

    /// Sends `signal` (`STOP`, `CONT`, `INT`, ...) to a replica's process,
    /// as `docker kill --signal` does.
    pub fn signal(&self, service: &str, replica: usize, signal: &str) -> anyhow::Result<()> {
        process::signal_pid(self.pid(service, replica)?, signal);
        Ok(())
    }

    /// Waits at most `within` for a replica's process to end by itself
    /// (after a signal asking it to); its exit status.
    pub async fn wait_exit(
        &self,
        service: &str,
        replica: usize,
        within: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        let r = self.replica(service, replica)?;
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited(r) {
                return Ok(status);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{service}-{replica} still runs after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Takes a replica's link down (packets dropped, the process keeps
    /// running) and up again.
    pub fn link_down(&self, service: &str, replica: usize) -> anyhow::Result<()> {
        let veth = &self.replica(service, replica)?.endpoint.veth;
        net::ip(&["link", "set", veth, "down"])?;
        Ok(())
    }

    pub fn link_up(&self, service: &str, replica: usize) -> anyhow::Result<()> {
        let veth = &self.replica(service, replica)?.endpoint.veth;
        net::ip(&["link", "set", veth, "up"])?;
        Ok(())
    }

    /// `docker compose run --rm <service> [command]`: a one-off container of
    /// a service (one with a profile, say) in a namespace of its own on the
    /// bridge, with its compose environment; waits for it to end.
    pub async fn run(&self, service: &str, command: Option<&[&str]>) -> anyhow::Result<Output> {
        let spec = self
            .project
            .services
            .get(service)
            .with_context(|| format!("no service {service} in the compose file"))?;
        let kind = kind_of(spec)?;
        anyhow::ensure!(
            kind == Kind::Project,
            "run: {service} is not the project's image"
        );
        check_binary(spec, &self.options.bin_dir)?;
        for (dep, _) in &spec.depends_on {
            anyhow::ensure!(
                self.services.contains_key(dep),
                "run {service}: its dependency {dep} is not up"
            );
        }
        let k = self
            .one_offs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let host = u8::try_from(200 + k).context("too many one-off containers")?;
        let endpoint = self
            .net
            .lock()
            .unwrap()
            .add(&format!("{service}-run"), k + 1, host)?;
        let name = endpoint.namespace.clone();
        let result = async {
            let own = format!(
                "{}\t{}-{service}-run-{}\n",
                endpoint.address,
                self.project.name,
                k + 1
            );
            self.net
                .lock()
                .unwrap()
                .write_hosts(&name, &format!("{}{own}", self.hosts))?;
            let dir = self
                .root
                .path()
                .join("runs")
                .join(format!("{service}-{}", k + 1));
            std::fs::create_dir_all(dir.join("home"))?;
            let mut spec = spec.clone();
            if let Some(c) = command {
                spec.command = Some(c.iter().map(|s| (*s).to_owned()).collect());
            }
            let r = Replica {
                service: service.to_owned(),
                n: k + 1,
                endpoint: endpoint.clone(),
                log: dir.join("output.log"),
                dir,
                process: Mutex::new(None),
                state: Mutex::new(ReplicaState::default()),
            };
            let svc = Svc {
                spec,
                kind,
                replicas: Vec::new(),
            };
            let mut argv = vec![
                OsString::from("ip"),
                "netns".into(),
                "exec".into(),
                name.clone().into(),
            ];
            argv.extend(self.mount_setup(&svc, &r)?);
            argv.extend(self.env_argv(&svc, &r));
            argv.extend(svc.spec.argv().into_iter().map(OsString::from));
            let output = tokio::process::Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(r.dir.join("home"))
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            tokio::time::timeout(Duration::from_secs(120), output)
                .await
                .with_context(|| format!("run {service} took over 120 s"))?
                .with_context(|| format!("run {service}"))
        }
        .await;
        self.net.lock().unwrap().remove(&name);
        result
    }

    /// One line per replica: when it started and when it was healthy,
    /// counted from the start of `up`.
    pub fn startup_report(&self) -> String {
        let mut out = format!("up took {:.1} s\n", self.up_took.as_secs_f64());
        let mut rows: Vec<(Duration, String)> = Vec::new();
        for svc in self.services.values() {
            for r in &svc.replicas {
                let s = r.state.lock().unwrap();
                let started = s.started.unwrap_or_default();
                let healthy = match s.healthy {
                    Some(h) => format!(
                        "healthy at {:5.1} s ({:.1} s after its start, healthcheck {})",
                        h.as_secs_f64(),
                        (h - started).as_secs_f64(),
                        s.probes,
                    ),
                    None => "no healthcheck".to_owned(),
                };
                rows.push((
                    started,
                    format!(
                        "  {:<22} {:<15} started at {:5.1} s, {healthy}\n",
                        format!("{}-{}", r.service, r.n),
                        r.endpoint.address,
                        started.as_secs_f64()
                    ),
                ));
            }
        }
        rows.sort();
        out.extend(rows.into_iter().map(|(_, line)| line));
        out
    }

    fn replica(&self, service: &str, replica: usize) -> anyhow::Result<&Replica> {
        Ok(self.svc_replica(service, replica)?.1)
    }

    fn svc_replica(&self, service: &str, replica: usize) -> anyhow::Result<(&Svc, &Replica)> {
        let svc = self
            .services
            .get(service)
            .with_context(|| format!("no running service {service}"))?;
        let r = replica
            .checked_sub(1)
            .and_then(|i| svc.replicas.get(i))
            .with_context(|| format!("{service} has no replica {replica}"))?;
        Ok((svc, r))
    }

    /// Forwards each published port from a free port of 127.0.0.1 to the
    /// service's first replica, over the bridge.
    async fn publish_ports(&mut self) -> anyhow::Result<()> {
        for (name, svc) in &self.services {
            for port in &svc.spec.ports {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let host_port = listener.local_addr()?.port();
                let to = SocketAddr::from((svc.replicas[0].endpoint.address, port.container));
                self.published
                    .insert((name.clone(), port.container), host_port);
                self.forwarders.push(tokio::spawn(forward(listener, to)));
            }
        }
        Ok(())
    }

    /// Every service at once, each waiting for its dependencies' conditions;
    /// the first failure ends it.
    async fn bring_up(&self) -> anyhow::Result<()> {
        let states: BTreeMap<&str, tokio::sync::watch::Sender<Phase>> = self
            .services
            .keys()
            .map(|n| (n.as_str(), tokio::sync::watch::channel(Phase::Waiting).0))
            .collect();
        let each = self
            .services
            .iter()
            .map(|(name, svc)| self.bring_up_service(name, svc, &states));
        futures::future::try_join_all(each).await?;
        Ok(())
    }

    async fn bring_up_service(
        &self,
        name: &str,
        svc: &Svc,
        states: &BTreeMap<&str, tokio::sync::watch::Sender<Phase>>,
    ) -> anyhow::Result<()> {
        for (dep, condition) in &svc.spec.depends_on {
            let mut phase = states[dep.as_str()].subscribe();
            match condition {
                Condition::Started => {
                    let _ = phase.wait_for(|p| *p >= Phase::Started).await;
                }
                Condition::Healthy => {
                    let _ = phase.wait_for(|p| *p >= Phase::Healthy).await;
                }
                Condition::CompletedSuccessfully => loop {
                    let _ = phase.wait_for(|p| *p >= Phase::Started).await;
                    if self.services[dep].replicas.iter().all(|r| {
                        r.process
                            .lock()
                            .unwrap()
                            .as_mut()
                            .and_then(Lifelined::try_wait)
                            .is_some_and(|s| s.success())
                    }) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                },
            }
        }
        let started = Instant::now();
        futures::future::try_join_all(svc.replicas.iter().map(|r| self.start_replica(svc, r)))
            .await?;
        states[name].send_replace(Phase::Started);
        if let Some(check) = &svc.spec.healthcheck {
            futures::future::try_join_all(
                svc.replicas
                    .iter()
                    .map(|r| self.until_healthy(svc, r, check, started)),
            )
            .await?;
            states[name].send_replace(Phase::Healthy);
        }
        Ok(())
    }

    /// Starts one replica's process (after the image's own preparation:
    /// Kafka's storage format, PostgreSQL's first initialisation).
    async fn start_replica(&self, svc: &Svc, r: &Replica) -> anyhow::Result<()> {
        r.state.lock().unwrap().started = Some(self.began.elapsed());
        let mut argv = vec![
            OsString::from("ip"),
            "netns".into(),
            "exec".into(),
            r.endpoint.namespace.clone().into(),
        ];
        match svc.kind {
            Kind::Project => {
                argv.extend(self.mount_setup(svc, r)?);
                argv.extend(self.env_argv(svc, r));
                argv.extend(svc.spec.argv().into_iter().map(OsString::from));
            }
            Kind::Kafka => {
                let broker = self.prepare_kafka(svc, r).await?;
                argv.extend(self.env_argv(svc, r));
                argv.extend(broker);
            }
            Kind::Postgres => {
                let server = self.prepare_postgres(svc, r).await?;
                argv.extend(as_postgres_user());
                argv.extend(self.env_argv(svc, r));
                argv.extend(server);
            }
        }
        let process = spawn_in(&argv, &r.log, &r.dir.join("home"))
            .with_context(|| format!("starting {}-{}", r.service, r.n))?;
        *r.process.lock().unwrap() = Some(process);
        Ok(())
    }

    /// Compose's health loop for one replica, as Docker times it: probes
    /// `start_interval` apart within `start_period` and `interval` apart
    /// after it (the first one such a gap after the start), failures within
    /// `start_period` not counted, `retries` failures in a row unhealthy.
    async fn until_healthy(
        &self,
        svc: &Svc,
        r: &Replica,
        check: &Healthcheck,
        started: Instant,
    ) -> anyhow::Result<()> {
        let mut failures = 0;
        let gap = |at: Instant| {
            if at.duration_since(started) < check.start_period {
                check.start_interval
            } else {
                check.interval
            }
        };
        let mut next = started + gap(started);
        loop {
            while Instant::now() < next {
                if let Some(status) = self.exited(r) {
                    return Err(
                        self.failure(r, &format!("exited ({status}) before it was healthy"))
                    );
                }
                let left = next.saturating_duration_since(Instant::now());
                tokio::time::sleep(left.min(Duration::from_millis(100))).await;
            }
            next += gap(next);
            if let Some(status) = self.exited(r) {
                return Err(self.failure(r, &format!("exited ({status}) before it was healthy")));
            }
            if self.checked(svc, r, check).await {
                r.state.lock().unwrap().healthy = Some(self.began.elapsed());
                return Ok(());
            }
            if started.elapsed() > check.start_period {
                failures += 1;
                if failures >= check.retries {
                    return Err(self.failure(
                        r,
                        &format!(
                            "was unhealthy: {failures} healthchecks in a row failed (interval {:?}, retries {})",
                            check.interval, check.retries
                        ),
                    ));
                }
            }
        }
    }

    /// One healthcheck, its line kept for error messages: healthy or not.
    async fn checked(&self, svc: &Svc, r: &Replica, check: &Healthcheck) -> bool {
        let (ok, line) = self.probe(svc, r, check).await;
        let mut s = r.state.lock().unwrap();
        s.last_check = Some(format!("{} {line}", if ok { "ok:" } else { "failed:" }));
        s.probes += 1;
        ok
    }

    /// One healthcheck: `(healthy, its one-line output)`.
    async fn probe(&self, svc: &Svc, r: &Replica, check: &Healthcheck) -> (bool, String) {
        if svc.kind == Kind::Kafka {
            // The image's check is a script of the image; a TCP probe of
            // the listener the services use stands in for it.
            let to = SocketAddr::from((r.endpoint.address, KAFKA_PORT));
            return match tokio::time::timeout(check.timeout, tokio::net::TcpStream::connect(to))
                .await
            {
                Ok(Ok(_)) => (true, format!("TCP probe: {to} accepts")),
                Ok(Err(e)) => (false, format!("TCP probe: {to}: {e}")),
                Err(_) => (
                    false,
                    format!("TCP probe: {to}: no answer within {:?}", check.timeout),
                ),
            };
        }
        let mut argv = self.enter(r);
        argv.extend(self.env_argv(svc, r));
        match &check.test {
            compose::Probe::Cmd(cmd) => argv.extend(cmd.iter().map(OsString::from)),
            compose::Probe::Shell(line) => {
                let mut line = line.clone();
                if svc.kind == Kind::Postgres && line.trim_start().starts_with("pg_isready") {
                    // The image's socket is in /var/run/postgresql; here
                    // it is in the replica's folder.
                    line = format!(
                        "{line} -h {} -p {POSTGRES_PORT}",
                        r.dir.join("sock").display()
                    );
                }
                argv.extend(["/bin/sh".into(), "-c".into(), OsString::from(line)]);
            }
        }
        let mut command = tokio::process::Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(r.dir.join("home"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(check.timeout, command.output()).await {
            Err(_) => (false, format!("timed out after {:?}", check.timeout)),
            Ok(Err(e)) => (false, format!("could not run the healthcheck: {e}")),
            Ok(Ok(out)) => {
                let text = String::from_utf8_lossy(&out.stdout).trim().to_owned()
                    + String::from_utf8_lossy(&out.stderr).trim();
                let line = text.lines().last().unwrap_or_default().to_owned();
                (out.status.success(), format!("{line} ({})", out.status))
            }
        }
    }

    /// The prefix entering a replica: its namespaces while it runs
    /// (`nsenter`, as `docker exec`), else its network namespace alone.
    fn enter(&self, r: &Replica) -> Vec<OsString> {
        let pid = {
            let mut p = r.process.lock().unwrap();
            p.as_mut()
                .and_then(|p| p.try_wait().is_none().then_some(p.pid))
        };
        match pid {
            Some(pid) => vec![
                "nsenter".into(),
                format!("--target={pid}").into(),
                "--net".into(),
                "--mount".into(),
                "--".into(),
            ],
            None => vec![
                "ip".into(),
                "netns".into(),
                "exec".into(),
                r.endpoint.namespace.clone().into(),
            ],
        }
    }

    /// `env -i` with the compose environment, PATH and HOME.
    fn env_argv(&self, svc: &Svc, r: &Replica) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec!["env".into(), "-i".into()];
        for (k, v) in &svc.spec.environment {
            argv.push(format!("{k}={v}").into());
        }
        let path = match svc.kind {
            Kind::Project => format!("{}:{SYSTEM_PATH}", self.options.bin_dir.display()),
            Kind::Postgres => format!(
                "{}:{SYSTEM_PATH}",
                self.pg_bin.as_deref().unwrap_or(Path::new("")).display()
            ),
            Kind::Kafka => SYSTEM_PATH.to_owned(),
        };
        argv.push(format!("PATH={path}").into());
        argv.push(format!("HOME={}", r.dir.join("home").display()).into());
        argv
    }

    /// `sh -c <mounts; exec "$@">` making the service's volumes appear at
    /// their targets inside the private mount namespace `ip netns exec`
    /// made. A target whose parent is missing on the host gets an overlay
    /// on its nearest existing ancestor (upper layer in the run's dir), so
    /// the host's file system is never written.
    fn mount_setup(&self, svc: &Svc, r: &Replica) -> anyhow::Result<Vec<OsString>> {
        if svc.spec.volumes.is_empty() {
            return Ok(Vec::new());
        }
        let mut script = String::from("set -e\n");
        let mut overlaid: BTreeSet<PathBuf> = BTreeSet::new();
        for (i, m) in svc.spec.volumes.iter().enumerate() {
            let source = match &m.source {
                Source::Bind(p) => p.clone(),
                Source::Volume(v) => self.root.path().join("volumes").join(v),
            };
            anyhow::ensure!(
                source.exists(),
                "{}: the bind mount's source {} does not exist",
                svc.spec.name,
                source.display()
            );
            let target = PathBuf::from(&m.target);
            if !target.exists() {
                let ancestor = target
                    .ancestors()
                    .skip(1)
                    .find(|a| a.exists())
                    .expect("/ exists");
                anyhow::ensure!(
                    ancestor != Path::new("/"),
                    "{}: cannot mount at {}: it would need an overlay on /",
                    svc.spec.name,
                    m.target
                );
                if !overlaid.iter().any(|o| ancestor.starts_with(o)) {
                    let layer = r.dir.join(format!("overlay-{i}"));
                    std::fs::create_dir_all(layer.join("upper"))?;
                    std::fs::create_dir_all(layer.join("work"))?;
                    script.push_str(&format!(
                        "mount -t overlay food-overlay -o lowerdir={a},upperdir={u},workdir={w} {a}\n",
                        a = quote(ancestor),
                        u = quote(&layer.join("upper")),
                        w = quote(&layer.join("work")),
                    ));
                    overlaid.insert(ancestor.to_path_buf());
                }
                let parent = target.parent().expect("an absolute target");
                script.push_str(&format!("mkdir -p {}\n", quote(parent)));
                if source.is_dir() {
                    script.push_str(&format!("mkdir -p {}\n", quote(&target)));
                } else {
                    script.push_str(&format!(": > {}\n", quote(&target)));
                }
            }
            script.push_str(&format!(
                "mount --bind {} {}\n",
                quote(&source),
                quote(&target)
            ));
            if m.read_only {
                script.push_str(&format!("mount -o remount,bind,ro {}\n", quote(&target)));
            }
        }
        if overlaid
            .iter()
            .any(|o| Path::new("/etc/hosts").starts_with(o))
        {
            // The overlay hides what `ip netns exec` bound over /etc.
            let etc = net::etc_dir(&r.endpoint.namespace);
            script.push_str(&format!(
                "for f in {}/*; do mount --bind \"$f\" \"/etc/${{f##*/}}\"; done\n",
                quote(&etc)
            ));
        }
        script.push_str("exec \"$@\"\n");
        Ok(vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            "food-mounts".into(),
        ])
    }

    /// A container path under one of the service's volume targets, moved to
    /// the volume's folder (or the bind mount's source); others as they are.
    fn container_path(&self, svc: &Svc, value: &str) -> String {
        for m in &svc.spec.volumes {
            let rest = if value == m.target {
                Some("")
            } else {
                value.strip_prefix(&format!("{}/", m.target))
            };
            if let Some(rest) = rest {
                let base = match &m.source {
                    Source::Bind(p) => p.clone(),
                    Source::Volume(v) => self.root.path().join("volumes").join(v),
                };
                return if rest.is_empty() {
                    base.display().to_string()
                } else {
                    base.join(rest).display().to_string()
                };
            }
        }
        value.to_owned()
    }

    fn exited(&self, r: &Replica) -> Option<std::process::ExitStatus> {
        r.process
            .lock()
            .unwrap()
            .as_mut()
            .and_then(Lifelined::try_wait)
    }

    /// An error naming the replica, its last healthcheck and its log's end.
    fn failure(&self, r: &Replica, what: &str) -> anyhow::Error {
        let last = r
            .state
            .lock()
            .unwrap()
            .last_check
            .clone()
            .unwrap_or_else(|| "none ran".to_owned());
        anyhow::anyhow!(
            "{service} (replica {n}, {addr} in namespace {ns}) {what}\n  last healthcheck: {last}\n  its log ({log}) ends:\n{tail}",
            service = r.service,
            n = r.n,
            addr = r.endpoint.address,
            ns = r.endpoint.namespace,
            log = r.log.display(),
            tail = log_tail(&r.log, 15),
        )
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for f in &self.forwarders {
            f.abort();
        }
        let mut pids = Vec::new();
        for svc in self.services.values() {
            for r in &svc.replicas {
                if let Some(p) = r.process.lock().unwrap().take() {
                    p.signal("KILL");
                    pids.push(p.pid);
                    // Its Drop reaps the lifeline.
                    drop(p);
                }
            }
        }
        process::wait_gone(&pids, Duration::from_secs(5));
        // `net` then kills what else runs in the namespaces (a backend of
        // PostgreSQL, a healthcheck) and removes them; `root` goes last.
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Waiting,
    Started,
    Healthy,
}

/// Compose's checks before anything starts: every dependency exists and is
/// not behind a profile, and a `service_healthy` dependency has a
/// healthcheck (`docker compose up` refuses the file otherwise: the
/// condition could never be met).
fn check_dependencies(active: &BTreeMap<String, Service>) -> anyhow::Result<()> {
    for (name, s) in active {
        for (dep, condition) in &s.depends_on {
            let Some(d) = active.get(dep) else {
                bail!("{name} depends on {dep}, which is not started (it has a profile)");
            };
            if *condition == Condition::Healthy && d.healthcheck.is_none() {
                let waiting: Vec<&str> = active
                    .iter()
                    .filter(|(_, o)| {
                        o.depends_on
                            .iter()
                            .any(|(x, c)| x == dep && *c == Condition::Healthy)
                    })
                    .map(|(n, _)| n.as_str())
                    .collect();
                bail!(
                    "{dep} has no healthcheck, so the `condition: service_healthy` of {} can never be met",
                    waiting.join(", ")
                );
            }
        }
    }
    // A cycle would wait forever.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    while done.len() < active.len() {
        let before = done.len();
        for (name, s) in active {
            if !done.contains(name.as_str())
                && s.depends_on.iter().all(|(d, _)| done.contains(d.as_str()))
            {
                done.insert(name);
            }
        }
        if done.len() == before {
            bail!("depends_on has a cycle");
        }
    }
    Ok(())
}

fn kind_of(s: &Service) -> anyhow::Result<Kind> {
    let image = s.image.as_deref().unwrap_or_default();
    let repo = image.split(':').next().unwrap_or_default();
    Ok(if s.build || image.starts_with("food-platform") {
        Kind::Project
    } else if repo == "apache/kafka" || repo == "apache/kafka-native" {
        Kind::Kafka
    } else if repo == "postgres" {
        Kind::Postgres
    } else {
        bail!(
            "{}: the harness has no stand-in for image {image:?}",
            s.name
        )
    })
}

/// The binary a project service runs is in `bin_dir`.
fn check_binary(s: &Service, bin_dir: &Path) -> anyhow::Result<()> {
    let argv = s.argv();
    let program = argv
        .first()
        .with_context(|| format!("{}: no command or entrypoint", s.name))?;
    let path = if program.contains('/') {
        PathBuf::from(program)
    } else {
        bin_dir.join(program)
    };
    anyhow::ensure!(
        path.is_file(),
        "{}: {} is missing: build the binaries first (`cargo build --bins`, or \
         `cargo test --workspace`), or point FOOD_BIN_DIR at them",
        s.name,
        path.display()
    );
    Ok(())
}

/// Spawns `argv` under a lifeline with `cwd` as its working directory.
fn spawn_in(argv: &[OsString], log: &Path, cwd: &Path) -> anyhow::Result<Lifelined> {
    // The lifeline's shell passes its cwd on.
    let mut full = vec![
        OsString::from("env"),
        "-C".into(),
        cwd.as_os_str().to_owned(),
    ];
    full.extend(argv.iter().cloned());
    process::spawn(&full, log)
}

async fn forward(listener: tokio::net::TcpListener, to: SocketAddr) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

fn chmod(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

/// Single-quoted for sh.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn append(log: &Path, out: &Output) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    std::io::Write::write_all(&mut f, &out.stdout)?;
    std::io::Write::write_all(&mut f, &out.stderr)?;
    Ok(())
}

fn append_line(log: &Path, line: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes())?;
    Ok(())
}

/// The last `n` lines of a log, indented.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_condition_on_a_service_without_healthcheck_is_refused() {
        let text = "services:\n  a:\n    image: postgres\n  b:\n    image: postgres\n    depends_on: {a: {condition: service_healthy}}\n";
        let p = Project::parse(text, Path::new("/p"), &BTreeMap::new()).unwrap();
        let err = check_dependencies(&p.services).unwrap_err().to_string();
        assert!(err.contains("a has no healthcheck"), "{err}");
        assert!(err.contains("of b can never be met"), "{err}");
    }
}
