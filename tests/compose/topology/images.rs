//! What stands in for the `apache/kafka` and `postgres` images: the
//! preparation each image's entrypoint makes before its server starts
//! (Kafka's properties from `KAFKA_*` and its storage format; PostgreSQL's
//! initdb, database and init scripts), and the servers' command lines.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::Context;

use super::{
    KAFKA_HOST_PORT, POSTGRES_PORT, Replica, Svc, Topology, append, append_line, chmod,
    compose::Source, spawn_in,
};

impl Topology {
    /// Writes the broker's server.properties from the `KAFKA_*` variables,
    /// formats its storage when new, and returns the broker's argv.
    pub(super) async fn prepare_kafka(
        &self,
        svc: &Svc,
        r: &Replica,
    ) -> anyhow::Result<Vec<OsString>> {
        let jars = self.jars.as_ref().context("the Kafka jars")?;
        let mut props = kafka_properties(&svc.spec.environment, |v| self.container_path(svc, v))?;
        let listeners = props
            .get_mut("listeners")
            .context("kafka: KAFKA_LISTENERS is required")?;
        listeners.push_str(&format!(",HOST://:{KAFKA_HOST_PORT}"));
        let advertised = props
            .get_mut("advertised.listeners")
            .context("kafka: KAFKA_ADVERTISED_LISTENERS is required")?;
        advertised.push_str(&format!(",HOST://{}:{KAFKA_HOST_PORT}", r.endpoint.address));
        let map = props
            .get_mut("listener.security.protocol.map")
            .context("kafka: KAFKA_LISTENER_SECURITY_PROTOCOL_MAP is required")?;
        map.push_str(",HOST:PLAINTEXT");
        if let Some(dirs) = props.get("log.dirs") {
            for d in dirs.split(',') {
                std::fs::create_dir_all(d)?;
            }
        }
        let config = r.dir.join("server.properties");
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&config, text)?;
        let log4j2 = r.dir.join("log4j2.properties");
        std::fs::write(&log4j2, food_broker::apache::log4j2_properties())?;
        let cluster_id = svc
            .spec
            .environment
            .get("CLUSTER_ID")
            .cloned()
            .unwrap_or_else(|| "5L6g3nShT-eMCtK--X86sw".to_owned());

        let mut format = vec![
            OsString::from("ip"),
            "netns".into(),
            "exec".into(),
            r.endpoint.namespace.clone().into(),
        ];
        format.extend(food_broker::apache::java_argv(
            jars,
            128,
            &log4j2,
            "kafka.tools.StorageTool",
        ));
        format.extend([
            "format".into(),
            format!("--cluster-id={cluster_id}").into(),
            "--config".into(),
            config.clone().into(),
            "--ignore-formatted".into(),
        ]);
        let out = tokio::process::Command::new(&format[0])
            .args(&format[1..])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .context("running Kafka's StorageTool")?;
        append(&r.log, &out)?;
        if !out.status.success() {
            return Err(self.failure(r, &format!("could not format its storage ({})", out.status)));
        }
        let mut argv = food_broker::apache::java_argv(jars, 512, &log4j2, "kafka.Kafka");
        argv.push(config.into());
        Ok(argv)
    }

    /// Does what the postgres image's entrypoint does on an empty data dir
    /// (initdb, the database, the init scripts on a socket-only server),
    /// and returns the server's argv.
    pub(super) async fn prepare_postgres(
        &self,
        svc: &Svc,
        r: &Replica,
    ) -> anyhow::Result<Vec<OsString>> {
        let bin = self.pg_bin.clone().context("PostgreSQL's binaries")?;
        let env = &svc.spec.environment;
        let user = env.get("POSTGRES_USER").map_or("postgres", String::as_str);
        let password = env
            .get("POSTGRES_PASSWORD")
            .context("postgres: POSTGRES_PASSWORD is required (as by the image)")?;
        let db = env.get("POSTGRES_DB").map_or(user, String::as_str);
        let pgdata = env
            .get("PGDATA")
            .map_or("/var/lib/postgresql/data", String::as_str);
        let data = PathBuf::from(self.container_path(svc, pgdata));
        let data = if data == Path::new(pgdata) {
            r.dir.join("pgdata")
        } else {
            data
        };
        let sock = r.dir.join("sock");
        std::fs::create_dir_all(&data)?;
        std::fs::create_dir_all(&sock)?;
        chown_postgres(&data)?;
        chown_postgres(&sock)?;
        let server = |extra: &[&str]| -> Vec<OsString> {
            let mut argv = vec![
                bin.join("postgres").into_os_string(),
                "-D".into(),
                data.clone().into(),
                "-c".into(),
                format!("unix_socket_directories={}", sock.display()).into(),
            ];
            argv.extend(extra.iter().map(OsString::from));
            argv
        };
        if !data.join("PG_VERSION").exists() {
            chmod(&data, 0o700)?;
            let pwfile = r.dir.join("pwfile");
            std::fs::write(&pwfile, format!("{password}\n"))?;
            chmod(&pwfile, 0o644)?;
            let mut initdb = as_postgres_user();
            initdb.extend([
                bin.join("initdb").into_os_string(),
                "-D".into(),
                data.clone().into(),
                format!("--username={user}").into(),
                format!("--pwfile={}", pwfile.display()).into(),
                "--encoding=UTF8".into(),
                "--locale=C.UTF-8".into(),
                "--auth-local=trust".into(),
                "--auth-host=scram-sha-256".into(),
                // A throw-away database: no fsync of the new cluster (2.4 s
                // → 1.1 s alone, far more while other builds write).
                "--no-sync".into(),
            ]);
            self.run_step(r, &initdb, "initdb").await?;
            std::fs::remove_file(&pwfile)?;
            let mut hba = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("pg_hba.conf"))?;
            std::io::Write::write_all(&mut hba, b"\nhost all all all scram-sha-256\n")?;

            // A server on its socket alone while the init scripts run, as
            // the image's entrypoint does (without fsync, as initdb above;
            // the server that follows has the defaults).
            let mut temp = vec![
                OsString::from("ip"),
                "netns".into(),
                "exec".into(),
                r.endpoint.namespace.clone().into(),
            ];
            temp.extend(as_postgres_user());
            temp.extend(server(&["-c", "listen_addresses=", "-c", "fsync=off"]));
            let mut temp = spawn_in(&temp, &r.log, &r.dir.join("home"))?;
            let ready = Instant::now();
            loop {
                let out = tokio::process::Command::new(bin.join("pg_isready"))
                    .args(["-q", "-U", user, "-h"])
                    .arg(&sock)
                    .args(["-p", &POSTGRES_PORT.to_string()])
                    .status()
                    .await?;
                if out.success() {
                    break;
                }
                if let Some(status) = temp.try_wait() {
                    return Err(self.failure(r, &format!("its first start exited ({status})")));
                }
                if ready.elapsed() > Duration::from_secs(60) {
                    return Err(
                        self.failure(r, "did not accept connections on its socket within 60 s")
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let psql = |database: &str| -> Vec<OsString> {
                vec![
                    bin.join("psql").into_os_string(),
                    "-v".into(),
                    "ON_ERROR_STOP=1".into(),
                    "--no-psqlrc".into(),
                    "-h".into(),
                    sock.clone().into(),
                    "-p".into(),
                    POSTGRES_PORT.to_string().into(),
                    "-U".into(),
                    user.into(),
                    "-d".into(),
                    database.into(),
                ]
            };
            if db != "postgres" {
                let mut create = psql("postgres");
                create.extend([
                    "-c".into(),
                    format!("CREATE DATABASE \"{}\"", db.replace('"', "\"\"")).into(),
                ]);
                self.run_step(r, &create, "creating POSTGRES_DB").await?;
            }
            for (name, file) in self.init_scripts(svc)? {
                if name.ends_with(".sql") {
                    let mut apply = psql(db);
                    apply.extend(["-f".into(), file.into()]);
                    self.run_step(r, &apply, &format!("applying {name}"))
                        .await?;
                } else if name.ends_with(".sh") {
                    let mut script = self.env_argv(svc, r);
                    script.extend(["sh".into(), file.into()]);
                    self.run_step(r, &script, &format!("running {name}"))
                        .await?;
                } else {
                    append_line(&r.log, &format!("harness: ignoring {name}"))?;
                }
            }
            temp.signal("INT");
            if temp.wait(Duration::from_secs(30)).await.is_none() {
                return Err(self.failure(r, "its first start did not stop within 30 s"));
            }
        }
        Ok(server(&[
            "-c",
            "listen_addresses=*",
            "-c",
            &format!("port={POSTGRES_PORT}"),
        ]))
    }

    /// The files mounted at /docker-entrypoint-initdb.d, by name.
    fn init_scripts(&self, svc: &Svc) -> anyhow::Result<BTreeMap<String, PathBuf>> {
        const DIR: &str = "/docker-entrypoint-initdb.d";
        let mut scripts = BTreeMap::new();
        for m in &svc.spec.volumes {
            let source = match &m.source {
                Source::Bind(p) => p.clone(),
                Source::Volume(v) => self.root.path().join("volumes").join(v),
            };
            if m.target == DIR {
                for e in std::fs::read_dir(&source)? {
                    let e = e?;
                    scripts.insert(e.file_name().to_string_lossy().into_owned(), e.path());
                }
            } else if let Some(name) = m.target.strip_prefix(&format!("{DIR}/")) {
                anyhow::ensure!(source.is_file(), "{} is not a file", source.display());
                scripts.insert(name.to_owned(), source);
            }
        }
        Ok(scripts)
    }

    /// Runs a preparation step, its output appended to the replica's log.
    async fn run_step(&self, r: &Replica, argv: &[OsString], what: &str) -> anyhow::Result<()> {
        let out = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(r.dir.join("home"))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("{what}: running {:?}", argv[0]))?;
        append(&r.log, &out)?;
        if !out.status.success() {
            return Err(self.failure(r, &format!("failed while {what} ({})", out.status)));
        }
        Ok(())
    }
}

/// The newest /usr/lib/postgresql/<version>/bin.
pub(super) fn postgres_bin() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (deploy/postgres/provision.sh installs it)")?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .context("no /usr/lib/postgresql/<version>/bin/postgres")
}

pub(super) fn as_postgres_user() -> Vec<OsString> {
    [
        "setpriv",
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

/// The apache/kafka image's reading of its environment: each `KAFKA_*`
/// variable but the JVM's is a property, `_` → `.`, `__` → `-`, `___` →
/// `_`; values naming a path under a volume go through `path`.
fn kafka_properties(
    env: &BTreeMap<String, String>,
    path: impl Fn(&str) -> String,
) -> anyhow::Result<BTreeMap<String, String>> {
    const NOT_PROPERTIES: &[&str] = &[
        "KAFKA_VERSION",
        "KAFKA_HEAP_OPTS",
        "KAFKA_LOG4J_OPTS",
        "KAFKA_OPTS",
        "KAFKA_JMX_OPTS",
        "KAFKA_JVM_PERFORMANCE_OPTS",
        "KAFKA_GC_LOG_OPTS",
        "KAFKA_LOG4J_ROOT_LOGLEVEL",
        "KAFKA_LOG4J_LOGGERS",
        "KAFKA_TOOLS_LOG4J_LOGLEVEL",
        "KAFKA_JMX_HOSTNAME",
        "KAFKA_JMX_PORT",
    ];
    let mut props = BTreeMap::new();
    for (k, v) in env {
        let Some(name) = k.strip_prefix("KAFKA_") else {
            continue;
        };
        if NOT_PROPERTIES.contains(&k.as_str()) {
            continue;
        }
        let name = name
            .to_ascii_lowercase()
            .split("___")
            .map(|p| {
                p.split("__")
                    .map(|q| q.replace('_', "."))
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .collect::<Vec<_>>()
            .join("_");
        let value = v.split(',').map(&path).collect::<Vec<_>>().join(",");
        props.insert(name, value);
    }
    anyhow::ensure!(!props.is_empty(), "kafka: no KAFKA_* configuration");
    Ok(props)
}

fn chown_postgres(path: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()?;
    anyhow::ensure!(status.success(), "chown postgres {}", path.display());
    Ok(())
}

/// Apache Kafka's tools: warnings and errors only, to stderr.
pub(super) const TOOLS_LOG4J2: &str = "\
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = err
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_variables_become_properties_as_the_image_reads_them() {
        let env: BTreeMap<String, String> = [
            ("KAFKA_NODE_ID", "1"),
            ("KAFKA_LOG_DIRS", "/var/lib/kafka/data"),
            ("KAFKA_SOME__DASHED___UNDER", "x"),
            ("KAFKA_HEAP_OPTS", "-Xmx1G"),
            ("OTHER", "y"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let props = kafka_properties(&env, |p| p.replace("/var/lib/kafka/data", "/tmp/v")).unwrap();
        assert_eq!(props["node.id"], "1");
        assert_eq!(props["log.dirs"], "/tmp/v");
        assert_eq!(props["some-dashed_under"], "x");
        assert_eq!(props.len(), 3);
    }
}
