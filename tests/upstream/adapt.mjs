#!/usr/bin/env node
// Adapts atuin-server 18.24.4's own integration tests (tests/sync.rs, tests/users.rs,
// tests/common/mod.rs, copied from the crates.io package by run.sh) so that they run against a
// Terrapin worker at a URL instead of an atuin-server started in-process.
//
//   node adapt.mjs SRC_TESTS_DIR DEST_TESTS_DIR
//
// Every change is an exact text replacement; a text that is not found (another atuin version)
// stops the adaptation with its name, so nothing is adapted silently. What changes, and why:
//
// 1. sync.rs, the `server` fixture: built `atuin_server::Settings` for a SQLite database in
//    $TMPDIR and called `atuin_server::launch_with_tcp_listener` on 127.0.0.1:0. It now returns
//    the same `TestServer` with `address` = $TERRAPIN_URL. Its other fields stay for the
//    unchanged `Drop`: `shutdown` is None, `handle` a task that does nothing, and `db` a path
//    that is never created (Drop's removal of it is a no-op). Each case still registers its own
//    fresh user, so the cases stay independent on one shared server.
// 2. sync.rs, imports: the `atuin_server` imports (the crate is not a dependency here) and
//    `TcpListener` / `TryFutureExt` (used only by that start) go.
// 3. common/mod.rs, `start_server(path)`: started atuin-server under the URL path `path` (a
//    random `/<uuid>`, to check that atuin-server works below a path prefix) with tracing. It
//    now returns ($TERRAPIN_URL, a shutdown sender, a task that ends when that sender fires),
//    so the cases' closing `shutdown.send(()).unwrap(); server_task.await.unwrap();` hold
//    unchanged. The path is not used: a worker is served at the root of its origin, so there
//    is no prefix to test.
// 4. common/mod.rs, `run_server_command(args, stdin)`: ran the `atuin-server` binary
//    (`admin user create|set-password|delete …`) in-process against the test database. It now
//    runs Terrapin's operator command, `node edge-worker/admin.mjs --url $TERRAPIN_URL user …`,
//    with the same arguments after `admin` and the same stdin (the password). admin.mjs has the
//    same command line as atuin-server's `admin user` (create --email EMAIL NAME, set-password
//    NAME, delete --yes NAME; password on stdin) and calls the worker's operator routes
//    (docs/PROTOCOL.md §2, "Operator routes") with the admin token from
//    $TERRAPIN_ADMIN_TOKEN or edge-worker/.dev.vars. The assertion that the command succeeds
//    is unchanged, and so is every assertion of the case that calls it.
// 5. common/mod.rs, imports used only by the old start (atuin_server, TcpListener,
//    TryFutureExt, tracing's dispatcher, tracing_subscriber, tracing_tree) go.
//
// users.rs itself is copied unchanged: its fixture calls `common::start_server`.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  console.error("usage: adapt.mjs SRC_TESTS_DIR DEST_TESTS_DIR");
  process.exit(2);
}

function adapt(file, edits) {
  let text = readFileSync(path.join(src, file), "utf8");
  for (const [name, from, to] of edits) {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      console.error(`adapt.mjs: ${file}: ${at < 0 ? "not found" : "found twice"}: ${name}`);
      process.exit(1);
    }
    text = text.slice(0, at) + to + text.slice(at + from.length);
  }
  const out = path.join(dest, file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `// Adapted by terrapin tests/upstream/adapt.mjs from atuin-server 18.24.4's ${file}.\n${text}`);
}

// Returns the text of the item starting at `head` up to its closing brace at column 0.
function item(file, head) {
  const text = readFileSync(path.join(src, file), "utf8");
  const at = text.indexOf(head);
  const end = text.indexOf("\n}\n", at);
  if (at < 0 || end < 0) {
    console.error(`adapt.mjs: ${file}: item not found: ${head}`);
    process.exit(1);
  }
  return text.slice(at, end + 3);
}

const TERRAPIN_URL = `url::Url::parse(&std::env::var("TERRAPIN_URL").expect("TERRAPIN_URL: the Terrapin worker to test"))
        .expect("TERRAPIN_URL is a URL")`;

// 1, 2: sync.rs
adapt("sync.rs", [
  ["atuin_server imports", "use atuin_server::db::DbSettings;\nuse atuin_server::{Settings as ServerSettings, launch_with_tcp_listener};\n", ""],
  ["TryFutureExt import", "use futures_util::TryFutureExt;\n", ""],
  ["TcpListener import", "use tokio::net::TcpListener;\n", ""],
  [
    "server fixture",
    item("sync.rs", "#[fixture]\nasync fn server() -> TestServer {"),
    `#[fixture]
async fn server() -> TestServer {
    // terrapin: the Terrapin worker at $TERRAPIN_URL instead of an in-process atuin-server.
    TestServer {
        address: ${TERRAPIN_URL},
        db: temp_dir().joined(format!("atuin-record-sync-{}.db", uuid_v7().as_simple())),
        shutdown: None,
        handle: tokio::spawn(async {}),
    }
}
`,
  ],
]);

// 3, 4, 5: common/mod.rs
adapt("common/mod.rs", [
  ["atuin_server imports", "use atuin_server::db::DbSettings;\nuse atuin_server::{Settings as ServerSettings, launch_with_tcp_listener};\n", ""],
  ["TryFutureExt import", "use futures_util::TryFutureExt;\n", ""],
  ["TcpListener import", "use tokio::net::TcpListener;\n", ""],
  ["tracing imports", "use tracing::{Dispatch, dispatcher};\nuse tracing_subscriber::EnvFilter;\nuse tracing_subscriber::layer::SubscriberExt;\n", ""],
  ["Duration import", "use std::time::Duration;\n", ""],
  [
    "start_server",
    item("common/mod.rs", "pub async fn start_server(path: &str)"),
    `pub async fn start_server(path: &str) -> (url::Url, oneshot::Sender<()>, JoinHandle<()>) {
    // terrapin: the Terrapin worker at $TERRAPIN_URL instead of an in-process atuin-server
    // mounted at \`path\` (a worker is served at its origin's root: no path prefix to test).
    let _ = path;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = shutdown_rx.await;
    });
    (${TERRAPIN_URL}, shutdown_tx, server)
}
`,
  ],
  [
    "atuin-server binary",
    `    let mut child = Command::new(env!("CARGO_BIN_EXE_atuin-server"))
        .args(args)
`,
    `    // terrapin: Terrapin's operator command (same command line as atuin-server's
    // \`admin user …\`) against $TERRAPIN_URL, instead of the atuin-server binary.
    assert_eq!(args.first(), Some(&"admin"), "only atuin-server's admin commands are mapped");
    let mut child = Command::new("node")
        .arg(std::env::var("TERRAPIN_ADMIN_MJS").expect("TERRAPIN_ADMIN_MJS: edge-worker/admin.mjs"))
        .arg("--url")
        .arg(std::env::var("TERRAPIN_URL").expect("TERRAPIN_URL: the Terrapin worker to test"))
        .args(&args[1..])
`,
  ],
]);

writeFileSync(path.join(dest, "users.rs"), `// Copied unchanged by terrapin tests/upstream/adapt.mjs from atuin-server 18.24.4's users.rs.\n${readFileSync(path.join(src, "users.rs"), "utf8")}`);
