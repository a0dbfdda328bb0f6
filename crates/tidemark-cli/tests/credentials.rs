//! Credentials never appear in the `tidemark` command's errors: neither those in the
//! environment (`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) nor those written into a URI.
//!
//! A tiny local HTTP server stands in for S3 and refuses every request with 403, so the
//! command fails fast (403 is not retried) with the store's error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

const SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY";
const TOKEN: &str = "FwoGZXIvYXdzSESSIONTOKENEXAMPLE";

/// Serves `403 AccessDenied` to every request, until the test ends.
fn refusing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 8192];
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
            let response = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

fn run_with_s3_env(port: u16, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .args(args)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(!output.status.success(), "the store refuses everything");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    format!("{stdout}{stderr}")
}

#[test]
fn environment_credentials_do_not_appear_in_errors() {
    let port = refusing_server();
    for args in [
        vec!["scan", "s3://bucket/table"],
        vec!["history", "s3://bucket/table"],
        vec!["describe", "s3://bucket/table"],
    ] {
        let out = run_with_s3_env(port, &args);
        assert!(out.contains("error"), "{args:?}: {out}");
        assert!(
            !out.contains(SECRET),
            "{args:?} leaked the secret key: {out}"
        );
        assert!(
            !out.contains(TOKEN),
            "{args:?} leaked the session token: {out}"
        );
    }
}

#[test]
fn uri_credentials_do_not_appear_in_errors() {
    let port = refusing_server();
    for uri in [
        format!("s3://AKIDEXAMPLE:{SECRET}@bucket/table?token={TOKEN}"),
        format!("s3://AKIDEXAMPLE:{SECRET}@/table?token={TOKEN}"),
        format!("s3://bucket/table?x-amz-security-token={TOKEN}&secret={SECRET}"),
    ] {
        let out = run_with_s3_env(port, &["scan", &uri]);
        assert!(out.contains("error"), "{uri}: {out}");
        assert!(!out.contains(SECRET), "{uri} leaked the secret: {out}");
        assert!(!out.contains(TOKEN), "{uri} leaked the token: {out}");
    }
}
