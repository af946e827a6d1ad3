// Compile-only check that the README's usage type-checks against the published types (the
// declarations web/build.sh generates into pkg/), imported as a user of the package does.
import { Client, isTerrapinError, migrateLegacy, type DotfilesVar, type HistoryPage, type LegacyMigration, type LegacyProblem, type Script, type ShellAlias, type SyncProgress, type Thread, type ThreadWithMessages } from "terrapin-web";

export async function example(): Promise<void> {
  const client = await Client.open({ server: "https://sync.example.com", profile: "work", pageSize: 1000 });
  await client.register({ username: "ada", email: "ada@example.com", password: "pw" });
  const key: string | undefined = client.key();
  if (key) await client.login({ username: "ada", password: "pw", key });
  await client.saveVault("a long passphrase", { memoryKiB: 19456 });
  await client.unlock("a long passphrase");
  const ctl = new AbortController();
  const report = await client.sync({ signal: ctl.signal, onProgress: (p: SyncProgress) => void p.allDone });
  const n: number = report.downloaded + report.uploaded;
  if (report.keyCheck === "nothing_readable") void report.keyCheck;
  for (const d of report.damaged) void [d.host, d.tag, d.missing.map((r) => r.last - r.first + 1), d.error?.kind === "foreign_key" && d.error.recordKid];
  for (const s of await client.missing()) void s.missing[0]?.first;
  const page: HistoryPage = client.history.query({ text: "git", mode: "fuzzy", exit: 0, after: Date.now() - 1000, limit: 10 });
  for (const e of page.entries) void [e.command, e.timestamp, e.hostname, n];
  const unique: HistoryPage = client.history.query({ text: "git", unique: true, command: "git status" });
  for (const e of unique.entries) void [e.runs ?? 1, e.matches?.[0]];
  for (const h of client.history.hosts()) void [h.hostId, h.hostnames[0]?.host, h.hostnames[0]?.entries];
  const loaded: Promise<void> = client.history.loaded();
  const prepared: Promise<void> = client.history.prepare();
  await loaded;
  await prepared;
  const live = await client.live({ pollMs: 60_000, backoff: { baseMs: 500, maxMs: 10_000 } });
  live.addEventListener("synced", (ev) => void ev.detail.entries.map((e) => e.command));
  live.addEventListener("state", (ev) => void (ev.detail.connection === "live" && ev.detail.progress?.allDone));
  live.addEventListener("changed", (ev) => void (ev.detail.entries + live.pollMs));
  live.addEventListener("loggedout", (ev) => void (ev.detail.reason === "session-ended"));
  await live.sync();
  live.close();
  const added = await client.history.add({ command: "ls" });
  await client.history.delete(added.id);
  await client.kv.set("ns", "k", "v");
  const v: string | undefined = client.kv.get("ns", "k");
  void v;
  for (const { namespace, key: k, value } of client.kv.list()) void [namespace, k, value];
  await client.kv.delete("ns", "k");
  const script: Script = await client.scripts.set({ name: "deploy", shebang: "bash", tags: ["web"], script: "echo hi" });
  const edited: Script = await client.scripts.set({ ...script, script: "echo bye" });
  for (const s of client.scripts.list()) void [s.id, s.name, s.description, s.shebang, s.tags.join(","), s.script];
  const found: Script | undefined = client.scripts.get("deploy") ?? client.scripts.get(edited.id);
  void found;
  await client.scripts.delete(edited.id);
  for (const a of client.aliases.list()) void `alias ${a.name}='${a.value}'`;
  for (const v of client.vars.list()) void `${v.export ? "export " : ""}${v.name}=${v.value}`;
  const alias: ShellAlias | undefined = client.aliases.get("ll");
  const variable: DotfilesVar | undefined = client.vars.get("EDITOR");
  void [alias, variable];
  const threads: Thread[] = await client.threads.list();
  const thread: ThreadWithMessages | undefined = threads[0] && (await client.threads.get(threads[0].id));
  for (const m of thread?.messages ?? []) for (const c of m.content) void (c.type === "text" ? c.text : c.type === "toolUse" ? c.name : m.role);
  const [local, remote] = await Promise.all([client.status(), client.remoteStatus()]);
  void [local.hosts, remote.hosts];
  await client.refresh();
  const me: { username: string } = await client.me();
  void me;
  const migrated: LegacyMigration = await migrateLegacy(new Uint8Array(0), key ?? "", { sqliteWasm: "/sqlite.wasm" });
  await client.importRecords(migrated.records);
  for (const s of migrated.series) void [s.host, s.tag, s.records, s.migratedHost];
  try {
    await migrateLegacy("[]", "phrase");
  } catch (e) {
    if (isTerrapinError(e) && e.kind === "legacy") for (const p of e.problems ?? []) void (p satisfies LegacyProblem).kind;
  }
  try {
    await client.sync();
  } catch (e) {
    if (isTerrapinError(e) && e.kind === "wrong_key") void e.status;
  }
}
