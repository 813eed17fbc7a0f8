// Every path of every command prints exactly one JSON document with --json, valid against
// schemas/report.schema.json (generated from json-output.ts; MULTIARCH_UPDATE_SCHEMA=1 rewrites it).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { run } from "./cli.ts";
import { JsonOutputSchema } from "./json-output.ts";
import { memoryIo } from "./testing/io.ts";

const FILE = resolve(import.meta.dirname, "../../../schemas/report.schema.json");
const generated = `${JSON.stringify({ title: "multiarch --json output", ...z.toJSONSchema(JsonOutputSchema, { target: "draft-2020-12" }) }, null, 2)}\n`;
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(generated));

function quickstart(): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-json-"));
  cpSync(resolve(import.meta.dirname, "../../../examples/quickstart"), dir, { recursive: true, filter: (s) => !s.includes(".multiarch") });
  mkdirSync(join(dir, ".git"));
  return dir;
}

async function json(args: string[], env: Record<string, string> = {}, cwd = quickstart()) {
  const io = memoryIo(cwd, { DOCKER_HOST: "unix:///nonexistent/docker.sock", ...env });
  const exit = await run([...args, "--json"], io);
  const out = io.out();
  const doc = JSON.parse(out) as Record<string, unknown>;
  expect(out.trim().startsWith("{") && out.trim().endsWith("}"), "exactly one document").toBe(true);
  if (!validate(doc)) throw new Error(`${args.join(" ")}: ${JSON.stringify(validate.errors, null, 2)}`);
  expect(doc.exitCode).toBe(exit);
  expect(doc.version).toBe(1);
  return { exit, doc, stderr: io.err() };
}

describe("schemas/report.schema.json", () => {
  test("is generated from json-output.ts and up to date", () => {
    if (process.env.MULTIARCH_UPDATE_SCHEMA) writeFileSync(FILE, generated);
    expect(readFileSync(FILE, "utf8")).toBe(generated);
  });
});

describe("--json: one document on every path", () => {
  test("validate: valid, invalid, static", async () => {
    expect((await json(["validate"])).doc).toMatchObject({ ok: true, command: "validate", valid: { images: 1, static: false } });
    const dir = quickstart();
    writeFileSync(join(dir, "multiarch.yaml"), "version: 1\nimages: {}\n");
    expect((await json(["validate"], {}, dir)).doc).toMatchObject({ ok: false, exitCode: 1, errors: [{ code: "invalid-value" }] });
    expect((await json(["validate", "--static"])).doc).toMatchObject({ ok: true, valid: { static: true } });
  });

  test("graph, doctor (engine unreachable), inspect (nothing there), import (no bake file)", async () => {
    expect((await json(["graph"])).doc).toMatchObject({ ok: true, graph: { nodes: [{ id: "hello" }] } });
    expect((await json(["graph", "--format", "svg"])).doc).toMatchObject({ ok: false, exitCode: 1 });
    // found by a review: --format dot was dropped without a word under --json
    expect((await json(["graph", "--format", "dot"])).doc).toMatchObject({ ok: false, exitCode: 1, message: expect.stringContaining("drop one of them") });
    expect((await json(["graph", "--format", "json"])).doc).toMatchObject({ ok: true });
    const doctor = await json(["doctor"]);
    expect(doctor.doc).toMatchObject({
      ok: false,
      exitCode: 1,
      checks: expect.arrayContaining([expect.objectContaining({ id: "docker-engine", status: "failed" })]),
    });
    expect((await json(["inspect", "127.0.0.1:1/none:1"])).doc).toMatchObject({ ok: false, exitCode: 2 });
    expect((await json(["inspect"])).doc).toMatchObject({ ok: false, exitCode: 1 });
    // a name that is no image reference is a usage error (it was exit 2, as if the registry had failed)
    expect((await json(["inspect", "not a ref!!"])).doc).toMatchObject({ ok: false, exitCode: 1 });
    expect((await json(["inspect", "127.0.0.1:1/none:1", "--expect", "linux/arm46"])).doc).toMatchObject({
      ok: false,
      exitCode: 1,
      message: expect.stringContaining("did you mean linux/arm64?"),
    });
    // found by a review: a key path with a typo read as "no signature verifies" (exit 3, a tampered image)
    expect((await json(["inspect", "127.0.0.1:1/none:1", "--key", "/nonexistent.pub"])).doc).toMatchObject({
      exitCode: 1,
      message: "--key /nonexistent.pub: cannot be read (ENOENT)",
    });
    expect((await json(["inspect", "127.0.0.1:1/none:1", "--key", "env://MULTIARCH_NO_SUCH_KEY"])).doc).toMatchObject({
      exitCode: 1,
      message: "--key env://MULTIARCH_NO_SUCH_KEY: environment variable MULTIARCH_NO_SUCH_KEY is not set",
    });
    // a KMS key is cosign's to read: not refused as a missing file (the registry, down here, answers first)
    expect((await json(["inspect", "127.0.0.1:1/none:1", "--key", "awskms:///alias/release"])).doc).toMatchObject({ exitCode: 2 });
    expect((await json(["import", "-o", "imported.yaml"])).doc).toMatchObject({ ok: false });
  }, 30_000);

  test("plan: written, spec error, engine unreachable with auto", async () => {
    const ok = await json(["plan", "--strategy", "bake"]);
    expect(ok.doc).toMatchObject({ ok: true, plan: { version: 3 } });
    expect((ok.doc.files as string[]).some((f) => f.endsWith("plan.json"))).toBe(true);
    // auto with no engine: bake assumed, still one document
    expect((await json(["plan"])).doc).toMatchObject({ ok: true });
    expect((await json(["plan", "--platform", "linux/s390x"])).doc).toMatchObject({ ok: false, errors: [{ code: "selection-unknown" }] });
  });

  test("promote: usage errors, a registry that does not exist, a registry down (the engine is not needed)", async () => {
    expect((await json(["promote"])).doc).toMatchObject({ ok: false, exitCode: 1, message: expect.stringContaining("multiarch promote VERSION") });
    expect((await json(["promote", "1.0.0", "--variable", "release"])).doc).toMatchObject({ exitCode: 1, message: expect.stringContaining("--variable NAME") });
    expect((await json(["promote", "1.0.0", "--from", "lcoal", "--to", "local"])).doc).toMatchObject({
      exitCode: 1,
      errors: [{ code: "selection-unknown", message: "--from lcoal: no such registry", hint: "did you mean local?" }],
    });
    // promote runs in-process: with the engine unreachable (DOCKER_HOST) it reads the registry, which is down
    const dir = quickstart();
    const spec = join(dir, "multiarch.yaml");
    writeFileSync(spec, readFileSync(spec, "utf8").replace("127.0.0.1:5000/quickstart", "127.0.0.1:9/quickstart"));
    const down = await json(["promote", "1.0.0"], {}, dir);
    expect(down.doc).toMatchObject({
      ok: false,
      exitCode: 2,
      promoted: { version: "1.0.0" },
      report: { steps: expect.arrayContaining([expect.objectContaining({ kind: "verify", unreadable: true })]) },
    });
    expect(down.doc.message).toMatch(/step failed/);
  });

  test("--set on validate, plan and apply: applied, recorded in the plan, refused with a code and a hint, and not on a saved plan", async () => {
    const dir = quickstart();
    const sets = ["hello.args.GREETING=hi", "*.tags=2.0,edge", "*.platforms=linux/amd64,linux/arm64", "hello.cache.type=registry"];
    const planned = await json(["plan", "--strategy", "bake", ...sets.flatMap((s) => ["--set", s])], {}, dir);
    expect(planned.doc).toMatchObject({ ok: true, plan: { sets } });
    const bake = JSON.parse(readFileSync(join(dir, ".multiarch/docker-bake.json"), "utf8")).target.hello;
    expect(bake).toMatchObject({
      args: { GREETING: "hi" },
      platforms: ["linux/amd64", "linux/arm64"],
      tags: ["127.0.0.1:5000/quickstart/hello:2.0", "127.0.0.1:5000/quickstart/hello:edge"],
    });
    expect(bake["cache-to"]).toEqual(["type=registry,ref=127.0.0.1:5000/quickstart/hello:buildcache-all,mode=max,registry.insecure=true"]);
    expect(JSON.parse(readFileSync(join(dir, ".multiarch/plans/linux-arm64.json"), "utf8")).sets).toEqual(sets);
    expect((await json(["validate", "--set", "hello.tag=1"], {}, dir)).doc).toMatchObject({
      ok: false,
      exitCode: 1,
      errors: [{ code: "set-invalid", message: '--set hello.tag=1: unknown key "tag"', hint: "did you mean tags?" }],
    });
    expect((await json(["validate", "--set", "helo.args.X=1"], {}, dir)).doc).toMatchObject({ errors: [{ code: "set-invalid", hint: "did you mean hello?" }] });
    expect((await json(["apply", "--dry-run", "--strategy", "bake", "--set", "*.attest.sbom=true"], {}, dir)).doc).toMatchObject({
      ok: true,
      plan: { sets: ["*.attest.sbom=true"] },
    });
    // merge reads the spec with the shards' overrides: a malformed one is refused there too
    expect((await json(["merge", "--set", "hello.tag=1"], {}, dir)).doc).toMatchObject({ exitCode: 1, errors: [{ code: "set-invalid" }] });
    expect((await json(["apply", "--plan", join(dir, ".multiarch/plan.json"), "--set", "hello.tags=x"], {}, dir)).doc).toMatchObject({
      exitCode: 1,
      message: expect.stringContaining("--set cannot change a saved plan"),
    });
  });

  test("apply: engine unreachable, dry run, bad plan, bad flags", async () => {
    const down = await json(["apply"]);
    expect(down.doc).toMatchObject({ ok: false, exitCode: 4 });
    expect(String(down.doc.message)).toContain("/nonexistent/docker.sock");
    const dry = await json(["apply", "--dry-run", "--strategy", "bake", "--rebuild"]);
    expect(dry.doc).toMatchObject({ ok: true, plan: { version: 3 } });
    expect((dry.doc.dryRun as { command: string }[]).some((c) => c.command.startsWith(`BUILDX_NO_DEFAULT_LOAD="1" docker buildx bake`))).toBe(true);
    expect(dry.stderr).not.toContain("docker buildx bake"); // human text stays out of stdout, and JSON carries the commands
    expect((await json(["apply", "--plan", "/nonexistent/plan.json"])).doc).toMatchObject({ exitCode: 1 });
    expect((await json(["apply", "--concurrency", "zero"])).doc).toMatchObject({ exitCode: 1, message: "--concurrency takes a whole number >= 1" });
    expect((await json(["apply", "--bogus"])).doc).toMatchObject({ exitCode: 1, message: "unknown option --bogus" });
    expect((await json(["apply", "--shard", "linux/amd64", "--continue"])).doc).toMatchObject({
      exitCode: 1,
      message: expect.stringContaining("--continue cannot be used with --shard"),
    });
    expect((await json(["frobnicate"])).doc).toMatchObject({ exitCode: 1, command: "frobnicate" });
  });
});
