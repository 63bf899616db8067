//! `<binary> healthcheck`: asks the running process at its configured
//! address whether it serves, for compose healthchecks and Kubernetes exec
//! probes. gRPC services answer `grpc.health.v1.Health/Check`; the gateway
//! answers `GET /readyz`. One line on stdout, exit 0 when serving, 1
//! otherwise, within [`DEADLINE`].

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{
    client::GrpcService,
    codegen::{Body, Bytes, StdError},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The whole check, connecting included, ends within this.
pub const DEADLINE: Duration = Duration::from_millis(800);

/// What a process answers and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `grpc.health.v1` at this address (the overall status, service "").
    Grpc(SocketAddr),
    /// An HTTP/1.1 GET of `path` at this address; serving means a 200.
    Http(SocketAddr, &'static str),
}

/// Settings that say where their process can be asked.
pub trait Probed {
    fn probe(&self) -> Probe;
}

impl Probe {
    /// Where to connect: a wildcard listen address (`0.0.0.0`, `[::]`) is
    /// asked on loopback, as a probe runs on the same host.
    pub fn target(&self) -> SocketAddr {
        let (Self::Grpc(addr) | Self::Http(addr, _)) = *self;
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, addr.port())
    }

    /// Asks once: `Ok(what serves)` or `Err(why not)`, both one line.
    pub async fn check(&self) -> Result<String, String> {
        let target = self.target();
        let asked = async {
            match self {
                Self::Grpc(_) => grpc(target).await,
                Self::Http(_, path) => http(target, path).await,
            }
        };
        match tokio::time::timeout(DEADLINE, asked).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer from {target} within {} ms",
                DEADLINE.as_millis()
            )),
        }
    }
}

/// Asks `grpc.health.v1` (the overall status, service "") on `channel`:
/// `Ok` when SERVING within `timeout`, else why not, one line. The one
/// question the probes, the gateway's `/readyz` and the balancer's
/// replica checks all ask.
pub async fn grpc_serving<T>(channel: T, timeout: Duration) -> Result<(), String>
where
    T: GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut client = HealthClient::new(channel);
    let check = client.check(HealthCheckRequest {
        service: String::new(),
    });
    match tokio::time::timeout(timeout, check).await {
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        Ok(Err(status)) => Err(format!("unreachable: {}", status.message())),
        Ok(Ok(res)) => match res.into_inner().status() {
            ServingStatus::Serving => Ok(()),
            other => Err(format!("not serving: {}", other.as_str_name())),
        },
    }
}

async fn grpc(target: SocketAddr) -> Result<String, String> {
    // Connected first, so that a refusal says why (tonic's own error says
    // only "transport error").
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{target}"))
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {target}: {}", source_message(&e)))?;
    match grpc_serving(channel, DEADLINE).await {
        Ok(()) => Ok(format!("serving at {target}")),
        // The caller's line says "not serving" already.
        Err(why) => Err(format!(
            "{} at {target}",
            why.strip_prefix("not serving: ").unwrap_or(&why)
        )),
    }
}

async fn http(target: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = tokio::net::TcpStream::connect(target)
        .await
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\nUser-Agent: healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("writing to {target}: {e}"))?;
    let mut response = Vec::with_capacity(1024);
    // Enough for the status line and a short body; /readyz answers in a few
    // hundred bytes.
    let mut chunk = [0u8; 4096];
    while response.len() < 16 * 1024 {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading from {target}: {e}"))?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if code == "200" {
        return Ok(format!("ready at {target}"));
    }
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    if status_line.is_empty() {
        Err(format!("no HTTP answer from {target}{path}"))
    } else {
        Err(format!("{path} at {target} answered {code}: {body}"))
    }
}

/// The innermost cause: tonic's transport error says only "transport error".
fn source_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_probed_on_loopback() {
        let any4 = Probe::Grpc("0.0.0.0:50051".parse().unwrap());
        assert_eq!(any4.target(), "127.0.0.1:50051".parse().unwrap());
        let any6 = Probe::Http("[::]:8080".parse().unwrap(), "/readyz");
        assert_eq!(any6.target(), "[::1]:8080".parse().unwrap());
        let named = Probe::Grpc("10.1.2.3:50052".parse().unwrap());
        assert_eq!(named.target(), "10.1.2.3:50052".parse().unwrap());
    }

    #[tokio::test]
    async fn nothing_listening_is_a_one_line_refusal() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        for probe in [Probe::Grpc(addr), Probe::Http(addr, "/readyz")] {
            let err = probe.check().await.unwrap_err();
            assert!(err.contains(&addr.to_string()), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[tokio::test]
    async fn an_http_probe_reads_the_status_and_body() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for answer in [
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 25\r\n\r\n{\"order\":\"unreachable\"}\n",
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            ] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let probe = Probe::Http(addr, "/readyz");
        let err = probe.check().await.unwrap_err();
        assert!(err.contains("answered 503"), "{err}");
        assert!(err.contains("unreachable"), "{err}");
        assert_eq!(probe.check().await.unwrap(), format!("ready at {addr}"));
        server.await.unwrap();
    }
}
