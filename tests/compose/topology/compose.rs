//! The part of the Compose Specification the harness runs: a compose file
//! read with YAML merge keys applied and `${VAR:-default}` interpolated as
//! `docker compose` does, into typed services. A key the harness cannot
//! honour is an error rather than silently ignored.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use serde_yaml::Value;

/// A compose project.
#[derive(Clone, Debug)]
pub struct Project {
    /// Top-level `name`, else the compose file's directory name.
    pub name: String,
    pub services: BTreeMap<String, Service>,
    /// Top-level `volumes` (named volumes).
    pub volumes: Vec<String>,
}

/// One `services.<name>` entry.
#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    /// `build:` present: the project's own image.
    pub build: bool,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// Exactly what the container gets from `environment`, interpolated.
    pub environment: BTreeMap<String, String>,
    pub depends_on: Vec<(String, Condition)>,
    pub healthcheck: Option<Healthcheck>,
    pub ports: Vec<Port>,
    pub volumes: Vec<Mount>,
    /// A service with profiles is started only when one is enabled (never
    /// by [`super::Topology::up`]).
    pub profiles: Vec<String>,
}

/// `depends_on.<name>.condition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

/// `healthcheck`, with Docker's defaults for what is left out.
#[derive(Clone, Debug)]
pub struct Healthcheck {
    pub test: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
    /// The interval within `start_period` (Docker Engine 25 and later,
    /// whose default is 5 s).
    pub start_interval: Duration,
}

/// `healthcheck.test`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `["CMD", argv...]`: run as is.
    Cmd(Vec<String>),
    /// `["CMD-SHELL", line]` or a plain string: `/bin/sh -c line`.
    Shell(String),
}

/// `ports: "[host_ip:][host:]container[/tcp]"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub host: Option<u16>,
    pub container: u16,
}

/// `volumes: source:target[:ro]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub source: Source,
    /// The path inside the container.
    pub target: String,
    pub read_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A top-level named volume.
    Volume(String),
    /// A host path, absolute (relative ones are resolved on load).
    Bind(PathBuf),
}

impl Project {
    /// Reads `path`, applying merge keys and interpolating from this
    /// process's environment and the project directory's `.env`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the compose file {}", path.display()))?;
        let dir = std::path::absolute(path)?
            .parent()
            .context("the compose file's directory")?
            .to_path_buf();
        let mut vars: BTreeMap<String, String> = dotenv(&dir.join(".env"))?;
        vars.extend(std::env::vars());
        Self::parse(&text, &dir, &vars).with_context(|| format!("in {}", path.display()))
    }

    /// [`Project::load`] on text, with `vars` for interpolation.
    pub fn parse(text: &str, dir: &Path, vars: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut doc: Value = serde_yaml::from_str(text).context("parsing YAML")?;
        doc.apply_merge().context("applying YAML merge keys")?;
        interpolate_all(&mut doc, vars)?;
        let top = doc.as_mapping().context("the file is not a mapping")?;
        let mut name = None;
        let mut services = BTreeMap::new();
        let mut volumes = Vec::new();
        for (key, value) in top {
            let key = key
                .as_str()
                .context("a top-level key that is not a string")?;
            match key {
                "name" => name = Some(string(value).context("name")?),
                "services" => {
                    for (n, s) in value.as_mapping().context("services is not a mapping")? {
                        let n = n.as_str().context("a service name that is not a string")?;
                        let service =
                            Service::parse(n, s, dir).with_context(|| format!("service {n}"))?;
                        services.insert(n.to_owned(), service);
                    }
                }
                "volumes" => {
                    for (n, v) in value.as_mapping().context("volumes is not a mapping")? {
                        let n = n.as_str().context("a volume name that is not a string")?;
                        if !v.is_null() && v.as_mapping().is_none_or(|m| !m.is_empty()) {
                            bail!("volume {n}: options are not supported by the harness");
                        }
                        volumes.push(n.to_owned());
                    }
                }
                k if k.starts_with("x-") => {}
                k => bail!("top-level `{k}` is not supported by the harness"),
            }
        }
        let name = match name {
            Some(n) => n,
            None => dir
                .file_name()
                .context("a project name")?
                .to_string_lossy()
                .to_ascii_lowercase(),
        };
        for s in services.values() {
            for (dep, _) in &s.depends_on {
                if !services.contains_key(dep) {
                    bail!("service {} depends on undefined service {dep}", s.name);
                }
            }
            for m in &s.volumes {
                if let Source::Volume(v) = &m.source
                    && !volumes.contains(v)
                {
                    bail!("service {} refers to undefined volume {v}", s.name);
                }
            }
        }
        Ok(Self {
            name,
            services,
            volumes,
        })
    }
}

impl Service {
    fn parse(name: &str, value: &Value, dir: &Path) -> anyhow::Result<Self> {
        let map = value.as_mapping().context("not a mapping")?;
        let mut s = Self {
            name: name.to_owned(),
            image: None,
            build: false,
            entrypoint: None,
            command: None,
            environment: BTreeMap::new(),
            depends_on: Vec::new(),
            healthcheck: None,
            ports: Vec::new(),
            volumes: Vec::new(),
            profiles: Vec::new(),
        };
        for (key, v) in map {
            let key = key.as_str().context("a key that is not a string")?;
            match key {
                "image" => s.image = Some(string(v).context("image")?),
                "build" => s.build = true,
                // Restart policies act on a process that exits later; the
                // harness reports an exit instead (it would repeat: the same
                // command and environment).
                "restart" => {}
                "entrypoint" => s.entrypoint = Some(argv(v).context("entrypoint")?),
                "command" => s.command = Some(argv(v).context("command")?),
                "environment" => s.environment = environment(v).context("environment")?,
                "depends_on" => s.depends_on = depends_on(v).context("depends_on")?,
                "healthcheck" => s.healthcheck = healthcheck(v).context("healthcheck")?,
                "ports" => {
                    for p in v.as_sequence().context("ports is not a list")? {
                        s.ports.push(port(p).context("ports")?);
                    }
                }
                "volumes" => {
                    for m in v.as_sequence().context("volumes is not a list")? {
                        s.volumes.push(mount(m, dir).context("volumes")?);
                    }
                }
                "profiles" => {
                    for p in v.as_sequence().context("profiles is not a list")? {
                        s.profiles.push(string(p).context("profiles")?);
                    }
                }
                k if k.starts_with("x-") => {}
                k => bail!("`{k}` is not supported by the harness"),
            }
        }
        Ok(s)
    }

    /// The container's argv: entrypoint, then command (the project's image
    /// has neither ENTRYPOINT nor CMD).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = self.entrypoint.clone().unwrap_or_default();
        argv.extend(self.command.clone().unwrap_or_default());
        argv
    }
}

fn string(v: &Value) -> anyhow::Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => bail!("expected a string, found {other:?}"),
    }
}

/// A list of strings, or a string split on whitespace (quotes refused).
fn argv(v: &Value) -> anyhow::Result<Vec<String>> {
    match v {
        Value::Sequence(items) => items.iter().map(string).collect(),
        Value::String(s) => {
            if s.contains(['"', '\'', '\\']) {
                bail!("quoting in a string command is not supported by the harness: use a list");
            }
            Ok(s.split_whitespace().map(str::to_owned).collect())
        }
        other => bail!("expected a list or a string, found {other:?}"),
    }
}

fn environment(v: &Value) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                let k = string(k)?;
                // `NAME:` with no value passes the variable through from the
                // environment of `docker compose`, when set there.
                let value = if v.is_null() {
                    std::env::var(&k).ok()
                } else {
                    Some(string(v).with_context(|| k.clone())?)
                };
                if let Some(value) = value {
                    env.insert(k, value);
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                let item = string(item)?;
                match item.split_once('=') {
                    Some((k, v)) => env.insert(k.to_owned(), v.to_owned()),
                    None => match std::env::var(&item) {
                        Ok(v) => env.insert(item, v),
                        Err(_) => None,
                    },
                };
            }
        }
        Value::Null => {}
        other => bail!("expected a mapping or a list, found {other:?}"),
    }
    Ok(env)
}

fn depends_on(v: &Value) -> anyhow::Result<Vec<(String, Condition)>> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .map(|i| Ok((string(i)?, Condition::Started)))
            .collect(),
        Value::Mapping(m) => {
            let mut deps = Vec::new();
            for (name, spec) in m {
                let name = string(name)?;
                let condition = match spec.get("condition").map(string).transpose()? {
                    None => Condition::Started,
                    Some(c) => match c.as_str() {
                        "service_started" => Condition::Started,
                        "service_healthy" => Condition::Healthy,
                        "service_completed_successfully" => Condition::CompletedSuccessfully,
                        other => bail!("{name}: unknown condition {other}"),
                    },
                };
                deps.push((name, condition));
            }
            Ok(deps)
        }
        other => bail!("expected a mapping or a list, found {other:?}"),
    }
}

fn healthcheck(v: &Value) -> anyhow::Result<Option<Healthcheck>> {
    let m = v.as_mapping().context("not a mapping")?;
    if m.get("disable").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let test = match m.get("test").context("no test")? {
        Value::String(line) => Probe::Shell(line.clone()),
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(string).collect::<anyhow::Result<_>>()?;
            match items.split_first() {
                Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => {
                    Probe::Cmd(rest.to_vec())
                }
                Some((kind, rest)) if kind == "CMD-SHELL" && rest.len() == 1 => {
                    Probe::Shell(rest[0].clone())
                }
                Some((kind, _)) if kind == "NONE" => return Ok(None),
                _ => bail!("test: expected [\"CMD\", ...] or [\"CMD-SHELL\", line]"),
            }
        }
        other => bail!("test: expected a list or a string, found {other:?}"),
    };
    let duration_or = |key: &str, default: Duration| -> anyhow::Result<Duration> {
        match m.get(key) {
            None => Ok(default),
            Some(v) => duration(&string(v)?).with_context(|| key.to_owned()),
        }
    };
    for key in m.keys() {
        let key = key.as_str().unwrap_or_default();
        if ![
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "start_interval",
            "disable",
        ]
        .contains(&key)
        {
            bail!("healthcheck.{key} is not supported by the harness");
        }
    }
    // Docker's defaults.
    let interval = duration_or("interval", Duration::from_secs(30))?;
    Ok(Some(Healthcheck {
        test,
        interval,
        timeout: duration_or("timeout", Duration::from_secs(30))?,
        retries: match m.get("retries") {
            None => 3,
            Some(v) => string(v)?.parse().context("retries")?,
        },
        start_period: duration_or("start_period", Duration::ZERO)?,
        start_interval: duration_or("start_interval", Duration::from_secs(5))?,
    }))
}

/// A compose duration: `1m30s`, `500ms`, `2s`, `1h`.
pub fn duration(text: &str) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        bail!("an empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .with_context(|| format!("{text:?}: a number without a unit"))?;
        let (number, tail) = rest.split_at(digits);
        let number: f64 = number
            .parse()
            .with_context(|| format!("{text:?}: not a duration"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            other => bail!("{text:?}: unknown unit {other:?}"),
        };
        total += Duration::from_secs_f64(number * seconds);
        rest = tail;
    }
    Ok(total)
}

fn port(v: &Value) -> anyhow::Result<Port> {
    let text = string(v)?;
    let text = text.strip_suffix("/tcp").unwrap_or(&text);
    if text.contains('-') || text.contains('/') {
        bail!("{text}: port ranges and protocols other than tcp are not supported");
    }
    let parts: Vec<&str> = text.rsplitn(3, ':').collect();
    let container = parts[0]
        .parse()
        .with_context(|| format!("{text}: the container port"))?;
    let host = match parts.get(1) {
        Some(h) if !h.is_empty() => Some(
            h.parse()
                .with_context(|| format!("{text}: the host port"))?,
        ),
        _ => None,
    };
    Ok(Port { host, container })
}

fn mount(v: &Value, dir: &Path) -> anyhow::Result<Mount> {
    let text = string(v)?;
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, options) = match parts.as_slice() {
        [s, t] => (*s, *t, ""),
        [s, t, o] => (*s, *t, *o),
        _ => bail!(
            "{text}: expected source:target[:ro] (anonymous and long-syntax volumes are not supported)"
        ),
    };
    let read_only = match options {
        "" | "rw" => false,
        "ro" => true,
        other => bail!("{text}: option {other} is not supported"),
    };
    if !target.starts_with('/') {
        bail!("{text}: the target is not an absolute path");
    }
    let source = if source.starts_with('.') || source.starts_with('/') || source.starts_with('~') {
        let path = if let Some(home) = source.strip_prefix("~/") {
            PathBuf::from(std::env::var("HOME").context("HOME")?).join(home)
        } else {
            dir.join(source)
        };
        Source::Bind(normalize(&path))
    } else {
        Source::Volume(source.to_owned())
    };
    Ok(Mount {
        source,
        target: target.to_owned(),
        read_only,
    })
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// Interpolates every string scalar (not keys), as compose does.
fn interpolate_all(v: &mut Value, vars: &BTreeMap<String, String>) -> anyhow::Result<()> {
    match v {
        Value::String(s) => *s = interpolate(s, vars)?,
        Value::Sequence(items) => {
            for i in items {
                interpolate_all(i, vars)?;
            }
        }
        Value::Mapping(m) => {
            for (_, value) in m.iter_mut() {
                interpolate_all(value, vars)?;
            }
        }
        Value::Tagged(t) => interpolate_all(&mut t.value, vars)?,
        _ => {}
    }
    Ok(())
}

/// `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`. An unset
/// variable without a default is the empty string (compose warns).
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = closing_brace(body).with_context(|| format!("{text:?}: an unclosed ${{"))?;
            out.push_str(&expand(&body[..end], vars)?);
            rest = &body[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
            } else {
                out.push_str(vars.get(&after[..len]).map_or("", String::as_str));
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a `${`, nested ones skipped.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand(body: &str, vars: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, op) = body.split_at(len);
    let value = vars.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    let word = |w: &str| interpolate(w, vars);
    Ok(match op {
        "" => value.cloned().unwrap_or_default(),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                value.cloned().unwrap_or_default()
            } else {
                word(&op[2..])?
            }
        }
        _ if op.starts_with('-') => match value {
            Some(v) => v.clone(),
            None => word(&op[1..])?,
        },
        _ if op.starts_with(":?") => {
            if !set_nonempty {
                bail!("{name}: {}", word(&op[2..])?);
            }
            value.cloned().unwrap_or_default()
        }
        _ if op.starts_with('?') => match value {
            Some(v) => v.clone(),
            None => bail!("{name}: {}", word(&op[1..])?),
        },
        _ if op.starts_with(":+") => {
            if set_nonempty {
                word(&op[2..])?
            } else {
                String::new()
            }
        }
        _ if op.starts_with('+') => {
            if value.is_some() {
                word(&op[1..])?
            } else {
                String::new()
            }
        }
        _ => bail!("${{{body}}}: not a valid interpolation"),
    })
}

/// `KEY=VALUE` lines of a `.env` file, when there is one.
fn dotenv(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(BTreeMap::new());
    };
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .with_context(|| format!("{}: {line:?} is not KEY=VALUE", path.display()))?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v);
        vars.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn interpolation_follows_compose() {
        let v = vars(&[("SET", "x"), ("EMPTY", "")]);
        let i = |t: &str| interpolate(t, &v).unwrap();
        assert_eq!(i("${SET:-d}"), "x");
        assert_eq!(i("${UNSET:-d}"), "d");
        assert_eq!(i("${EMPTY:-d}"), "d");
        assert_eq!(i("${EMPTY-d}"), "");
        assert_eq!(i("${UNSET-d}"), "d");
        assert_eq!(i("$SET/${SET}/$$SET"), "x/x/$SET");
        assert_eq!(i("${UNSET:-${SET}}"), "x");
        assert_eq!(i("${SET:+alt}${UNSET:+alt}"), "alt");
        assert!(interpolate("${UNSET:?needed}", &v).is_err());
    }

    #[test]
    fn durations_read_as_compose_writes_them() {
        assert_eq!(duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
    }

    #[test]
    fn merge_keys_and_the_forms_of_each_key_are_read() {
        let text = r#"
x-base: &base
  image: food-platform:latest
  environment: {A: "1"}
services:
  one:
    <<: *base
    command: one --flag
    healthcheck: {test: "true", interval: 2s}
    ports: ["127.0.0.1:8080:80", "9000"]
  two:
    image: other
    environment: [B=2]
    depends_on: [one]
    healthcheck: {test: [CMD, two, healthcheck], start_period: 30s, start_interval: 1s}
    volumes: ["./f.toml:/etc/f.toml:ro", "data:/data"]
    profiles: [tools]
volumes:
  data:
"#;
        let p = Project::parse(text, Path::new("/proj"), &BTreeMap::new()).unwrap();
        assert_eq!(p.name, "proj");
        let one = &p.services["one"];
        assert_eq!(one.image.as_deref(), Some("food-platform:latest"));
        assert_eq!(one.environment["A"], "1");
        assert_eq!(one.argv(), ["one", "--flag"]);
        let hc = one.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test, Probe::Shell("true".into()));
        assert_eq!((hc.interval, hc.retries), (Duration::from_secs(2), 3));
        assert_eq!(
            hc.start_interval,
            Duration::from_secs(5),
            "Docker's default"
        );
        let hc = p.services["two"].healthcheck.as_ref().unwrap();
        assert_eq!(
            (hc.interval, hc.start_period, hc.start_interval),
            (
                Duration::from_secs(30),
                Duration::from_secs(30),
                Duration::from_secs(1)
            )
        );
        assert_eq!(
            one.ports,
            [
                Port {
                    host: Some(8080),
                    container: 80
                },
                Port {
                    host: None,
                    container: 9000
                }
            ]
        );
        let two = &p.services["two"];
        assert_eq!(two.depends_on, [("one".to_owned(), Condition::Started)]);
        assert_eq!(
            two.volumes[0].source,
            Source::Bind(PathBuf::from("/proj/f.toml"))
        );
        assert!(two.volumes[0].read_only);
        assert_eq!(two.volumes[1].source, Source::Volume("data".into()));
        assert_eq!(two.profiles, ["tools"]);
    }

    #[test]
    fn an_unsupported_key_is_an_error_not_ignored() {
        let text = "services:\n  one:\n    image: x\n    network_mode: host\n";
        let err = Project::parse(text, Path::new("/p"), &BTreeMap::new()).unwrap_err();
        assert!(format!("{err:#}").contains("network_mode"), "{err:#}");
    }
}
