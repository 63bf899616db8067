//! Apache Kafka brokers in KRaft mode, for the tests and the compose
//! topology: the engine of compose and production, run from the jars that
//! `deploy/kafka/pom.xml` resolves from Maven Central (`deploy/kafka/fetch.sh`
//! puts them in a cache folder outside the clone, once per version) on the
//! machine's Java 17.
//!
//! [`KafkaCluster::start`] formats each node's log dir (`kafka.tools.StorageTool
//! format`), writes its `server.properties` and starts `kafka.Kafka`; a dir
//! that was formatted before is started as it is, so a node or a whole
//! cluster restarts on its log. Each node runs the broker and controller
//! roles (combined mode) on two ports of 127.0.0.1, chosen free on first start
//! and kept in the dir for restarts.
//!
//! Every JVM runs under a small shell that kills it when this process's end
//! of its stdin closes, so no broker outlives the test that started it, even
//! one killed with SIGKILL.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// The Apache Kafka version the tests and compose use (`kafka.version` in
/// deploy/kafka/pom.xml).
pub fn version() -> &'static str {
    const POM: &str = include_str!("../../../deploy/kafka/pom.xml");
    let start = POM
        .find("<kafka.version>")
        .expect("kafka.version in the pom")
        + 15;
    let end = start + POM[start..].find('<').expect("a closing tag");
    &POM[start..end]
}

/// The folder holding the broker's jars: `FOOD_KAFKA_JARS` when set, else
/// `~/.cache/food-platform/kafka/<version>` (or under `XDG_CACHE_HOME`).
/// When it is not complete yet, `deploy/kafka/fetch.sh` fills it (Maven
/// resolves the pom; nothing else is downloaded).
pub fn jars_dir() -> anyhow::Result<PathBuf> {
    static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let dir = match std::env::var_os("FOOD_KAFKA_JARS") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .context("neither FOOD_KAFKA_JARS, XDG_CACHE_HOME nor HOME is set")?
            .join("food-platform/kafka")
            .join(version()),
    };
    let _one_at_a_time = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join(".complete").is_file() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kafka/fetch.sh");
        let status = std::process::Command::new("bash")
            .arg(&script)
            .env("FOOD_KAFKA_JARS", &dir)
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        if !status.success() {
            bail!(
                "{} could not resolve Apache Kafka {} from Maven Central ({status})",
                script.display(),
                version()
            );
        }
    }
    Ok(dir)
}

/// `java`: `$JAVA_HOME/bin/java` when set, else the one on `PATH`.
pub fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|j| j.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// How to start a cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Number of nodes, each a broker and a controller (1 or 3, say).
    pub nodes: usize,
    /// The first node's client port on a first start (0: a free one).
    pub first_port: u16,
    /// Maximum heap of each JVM, in MiB.
    pub heap_mib: u32,
    /// Extra `server.properties` lines, `key=value`.
    pub properties: Vec<String>,
    /// Remove the cluster's dir once its nodes are gone with this process
    /// (for a throw-away cluster in a temporary folder).
    pub remove_dir_on_exit: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            nodes: 1,
            first_port: 0,
            heap_mib: 384,
            properties: Vec::new(),
            remove_dir_on_exit: false,
        }
    }
}

/// A node of a [`KafkaCluster`].
#[derive(Debug)]
struct Node {
    id: u32,
    port: u16,

    dir: PathBuf,
    process: Option<NodeProcess>,
}

#[derive(Debug)]
struct NodeProcess {
    /// The watchdog shell; its stdin is the JVM's lifeline.
    shell: Child,
    java_pid: u32,
}

/// Running Apache Kafka nodes on 127.0.0.1. Dropping it kills them.
#[derive(Debug)]
pub struct KafkaCluster {
    nodes: Vec<Node>,
    jars: PathBuf,
    heap_mib: u32,
    remove_on_exit: Option<PathBuf>,
}

impl KafkaCluster {
    /// Starts `options.nodes` nodes with their log dirs under `dir` (created
    /// and formatted on first use, reused after) and waits until every node
    /// serves metadata listing them all.
    pub async fn start(dir: &Path, options: ClusterOptions) -> anyhow::Result<Self> {
        let jars = tokio::task::spawn_blocking(jars_dir).await??;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = std::path::absolute(dir)?;
        let ports = dir.join("ports");
        let layout: Vec<(u32, u16, u16)> = match std::fs::read_to_string(&ports) {
            Ok(text) => text
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    Ok((f[0].parse()?, f[1].parse()?, f[2].parse()?))
                })
                .collect::<anyhow::Result<_>>()
                .with_context(|| format!("reading {}", ports.display()))?,
            Err(_) => {
                let mut layout = Vec::new();
                for i in 0..options.nodes {
                    let port = if i == 0 && options.first_port != 0 {
                        options.first_port
                    } else {
                        free_port()?
                    };
                    layout.push((i as u32 + 1, port, free_port()?));
                }
                let text: String = layout
                    .iter()
                    .map(|(id, p, c)| format!("{id} {p} {c}\n"))
                    .collect();
                std::fs::write(&ports, text)?;
                layout
            }
        };
        let voters = layout
            .iter()
            .map(|(id, _, c)| format!("{id}@127.0.0.1:{c}"))
            .collect::<Vec<_>>()
            .join(",");
        let replication = layout.len().min(3);
        let cluster_id_file = dir.join("cluster-id");
        let cluster_id = match std::fs::read_to_string(&cluster_id_file) {
            Ok(id) => id.trim().to_owned(),
            Err(_) => {
                let id = cluster_id();
                std::fs::write(&cluster_id_file, &id)?;
                id
            }
        };
        let mut nodes = Vec::new();
        let mut formats = tokio::task::JoinSet::new();
        for &(id, port, controller_port) in &layout {
            let node_dir = dir.join(format!("node-{id}"));
            std::fs::create_dir_all(node_dir.join("data"))?;
            let mut props = vec![
                "process.roles=broker,controller".to_owned(),
                format!("node.id={id}"),
                format!("controller.quorum.voters={voters}"),
                format!(
                    "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
                ),
                format!("advertised.listeners=PLAINTEXT://127.0.0.1:{port}"),
                "controller.listener.names=CONTROLLER".to_owned(),
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
                    .to_owned(),
                "inter.broker.listener.name=PLAINTEXT".to_owned(),
                format!("log.dirs={}", node_dir.join("data").display()),
                format!("offsets.topic.replication.factor={replication}"),
                format!("transaction.state.log.replication.factor={replication}"),
                "transaction.state.log.min.isr=1".to_owned(),
                format!("share.coordinator.state.topic.replication.factor={replication}"),
                "share.coordinator.state.topic.min.isr=1".to_owned(),
                // As the services expect in production: topics are created
                // by them, at start, never on first use.
                "auto.create.topics.enable=false".to_owned(),
                "group.initial.rebalance.delay.ms=0".to_owned(),
                "num.partitions=3".to_owned(),
            ];
            props.extend(options.properties.iter().cloned());
            let config = node_dir.join("server.properties");
            std::fs::write(&config, props.join("\n") + "\n")?;
            std::fs::write(node_dir.join("log4j2.properties"), LOG4J2)?;
            if !node_dir.join("data/meta.properties").is_file() {
                // A JVM start each: side by side.
                let (jars, id, dir) = (jars.clone(), cluster_id.clone(), node_dir.clone());
                formats.spawn(async move { format(&jars, &config, &id, &dir).await });
            }
            nodes.push(Node {
                id,
                port,

                dir: node_dir,
                process: None,
            });
        }
        while let Some(done) = formats.join_next().await {
            done??;
        }
        let mut this = Self {
            nodes,
            jars,
            heap_mib: options.heap_mib,
            remove_on_exit: options.remove_dir_on_exit.then(|| dir.clone()),
        };
        for i in 0..this.nodes.len() {
            this.spawn(i)?;
        }
        this.wait_ready(Duration::from_secs(90)).await?;
        Ok(this)
    }

    /// `bootstrap.servers` naming every node.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The first node's client address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.nodes[0].port))
    }

    /// A node's log file (its log4j output).
    pub fn node_log(&self, id: u32) -> PathBuf {
        self.node(id).dir.join("server.log")
    }

    fn node(&self, id: u32) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .expect("a node of this cluster")
    }

    /// Kills one node with SIGKILL (a crash: no controlled shutdown) and
    /// waits for its JVM to exit.
    pub async fn kill(&mut self, id: u32) {
        let i = self.nodes.iter().position(|n| n.id == id).expect("a node");
        if let Some(p) = self.nodes[i].process.take() {
            p.kill().await;
        }
    }

    /// Starts a killed node again on its log and waits until the cluster
    /// lists it.
    pub async fn restart(&mut self, id: u32) -> anyhow::Result<()> {
        let i = self.nodes.iter().position(|n| n.id == id).expect("a node");
        if self.nodes[i].process.is_none() {
            self.spawn(i)?;
        }
        self.wait_ready(Duration::from_secs(90)).await
    }

    /// Kills every node (SIGKILL; the logs stay in the dir).
    pub async fn stop(mut self) {
        for n in &mut self.nodes {
            if let Some(p) = n.process.take() {
                p.kill().await;
            }
        }
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("server.log"))?;
        let mut command = watchdog();
        if let Some(dir) = &self.remove_on_exit {
            command.env("FOOD_KAFKA_RM", dir);
        }
        command
            .arg(java())
            .args(jvm_options(self.heap_mib))
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                node.dir.join("log4j2.properties").display()
            ))
            .arg(format!("-Dkafka.logs.dir={}", node.dir.display()))
            .arg("-cp")
            .arg(self.jars.join("*"))
            .arg("kafka.Kafka")
            .arg(node.dir.join("server.properties"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .process_group(0);
        let mut shell = command.spawn().context("starting java for Apache Kafka")?;
        let java_pid = read_pid(&mut shell)?;
        node.process = Some(NodeProcess { shell, java_pid });
        Ok(())
    }

    /// Waits until every running node answers metadata that lists all the
    /// running nodes.
    async fn wait_ready(&mut self, patience: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let expected: Vec<i32> = self
            .nodes
            .iter()
            .filter(|n| n.process.is_some())
            .map(|n| n.id as i32)
            .collect();
        loop {
            let mut ready = true;
            for n in &mut self.nodes {
                let Some(p) = &mut n.process else { continue };
                if let Some(status) = p.shell.try_wait()? {
                    let tail = log_tail(&n.dir.join("server.log"));
                    bail!(
                        "Apache Kafka node {} (127.0.0.1:{}) exited while starting ({status}); its log ends:\n{tail}",
                        n.id,
                        n.port
                    );
                }
                if !brokers_listed(n.port, &expected).await {
                    ready = false;
                }
            }
            if ready {
                tracing::debug!(elapsed = ?started.elapsed(), "Apache Kafka ready");
                return Ok(());
            }
            if started.elapsed() > patience {
                bail!(
                    "Apache Kafka on {} was not ready within {patience:?} (see {})",
                    self.bootstrap(),
                    self.nodes[0].dir.join("server.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for KafkaCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(p) = n.process.take() {
                sigkill(p.java_pid);
            }
        }
    }
}

impl NodeProcess {
    async fn kill(mut self) {
        sigkill(self.java_pid);
        let _ = self.shell.wait().await;
    }
}

/// Whether the node on `port` answers metadata listing exactly `expected`.
async fn brokers_listed(port: u16, expected: &[i32]) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if tokio::net::TcpStream::connect(addr).await.is_err() {
        return false;
    }
    let expected = expected.to_vec();
    tokio::task::spawn_blocking(move || {
        crate::broker_ids(&addr.to_string()).is_some_and(|mut ids| {
            ids.sort_unstable();
            ids == expected
        })
    })
    .await
    .unwrap_or(false)
}

/// SIGKILL to `pid` (a JVM is not this process's child: its watchdog is).
fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// A shell that runs its arguments as a child, prints the child's pid,
/// kills the child when its own stdin closes (then removes `FOOD_KAFKA_RM`
/// when set), and exits with the child.
fn watchdog() -> Command {
    let mut c = Command::new("sh");
    // An asynchronous list's stdin is /dev/null unless redirected, hence
    // the copy on fd 3.
    c.arg("-c").arg(
        r#"exec 3<&0
"$@" </dev/null 3<&- & j=$!
echo "$j"
{ cat <&3 >/dev/null; kill -9 "$j" 2>/dev/null
  if [ -n "$FOOD_KAFKA_RM" ]; then sleep 1; rm -rf "$FOOD_KAFKA_RM"; fi; } &
exec 3<&-
wait "$j""#,
    );
    c.arg("food-kafka-watchdog");
    c
}

fn read_pid(shell: &mut Child) -> anyhow::Result<u32> {
    use std::io::BufRead;
    let stdout = shell.stdout.take().context("the watchdog's stdout")?;
    let fd = stdout.into_owned_fd()?;
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::from(fd)).read_line(&mut line)?;
    line.trim()
        .parse()
        .with_context(|| format!("the watchdog printed {line:?}, not a pid"))
}

/// The command line that runs `main_class` from the broker's `jars` on
/// [`java`] with `heap_mib` of heap, logging as the file `log4j2` says
/// (write [`log4j2_properties`] there for the nodes' logging): for a node
/// or a tool started under another command, in a network namespace say.
pub fn java_argv(
    jars: &Path,
    heap_mib: u32,
    log4j2: &Path,
    main_class: &str,
) -> Vec<std::ffi::OsString> {
    let mut argv = vec![java().into_os_string()];
    argv.extend(jvm_options(heap_mib).into_iter().map(Into::into));
    argv.push(format!("-Dlog4j2.configurationFile={}", log4j2.display()).into());
    argv.push("-cp".into());
    argv.push(jars.join("*").into_os_string());
    argv.push(main_class.into());
    argv
}

/// The nodes' log4j2 configuration: INFO and up to stderr, the request and
/// state-change chatter at WARN.
pub fn log4j2_properties() -> &'static str {
    LOG4J2
}

fn jvm_options(heap_mib: u32) -> Vec<String> {
    vec![
        format!("-Xmx{heap_mib}m"),
        "-Xms64m".to_owned(),
        "-XX:+UseSerialGC".to_owned(),
        "-XX:TieredStopAtLevel=1".to_owned(),
        "-Djava.awt.headless=true".to_owned(),
    ]
}

/// `kafka.tools.StorageTool format` for one node.
async fn format(
    jars: &Path,
    config: &Path,
    cluster_id: &str,
    node_dir: &Path,
) -> anyhow::Result<()> {
    let argv = java_argv(
        jars,
        128,
        &node_dir.join("log4j2.properties"),
        "kafka.tools.StorageTool",
    );
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("format")
        .arg(format!("--cluster-id={cluster_id}"))
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running java (Apache Kafka's StorageTool)")?;
    if !out.status.success() {
        bail!(
            "formatting {} failed ({}): {}{}",
            node_dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A cluster id: 16 random bytes in URL-safe base64 without padding, as
/// `kafka-storage random-uuid` prints.
fn cluster_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The broker's log: INFO and up to `server.log` in the node's dir (stderr
/// of the JVM), the request and state-change chatter at WARN.
const LOG4J2: &str = "\
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.err.ref = err
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.log.name = org.apache.kafka.storage.internals.log
logger.log.level = warn
";
