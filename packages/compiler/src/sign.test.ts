// sign: in the spec: each published index signed by digest after verification and before any tag moves.
import { type ImageInputFacts, type Plan, type Platform, planIdentity, type Shard } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { type CompileOptions, compile } from "./compile.ts";
import { mergePlan } from "./merge-plan.ts";
import { specRepo } from "./testing/spec-repo.ts";

const bake: CompileOptions["strategy"] = { requested: "bake", chosen: "bake", reason: "test" };
const manifest: CompileOptions["strategy"] = { requested: "manifest", chosen: "manifest", reason: "test" };
const git = { sha: "a".repeat(40), shortSha: "aaaaaaa", branch: "main", tag: "" };
const KEY = "sign:\n  key: { file: keys/cosign.key }\n  password: { env: COSIGN_PW }\n";
const KEYLESS = 'sign:\n  keyless: { issuer: "https://token.actions.githubusercontent.com", identity: "^https://github.com/acme/app/" }\n';

const spec = (sign: string): Spec =>
  specRepo(
    `version: 1\nregistries: { r: { url: "127.0.0.1:5000/x", insecure: true } }\n${sign}images:\n  app: { context: app, tags: ["1.0", latest] }\n  base: { context: app, publish: false }\n`,
  );
function plan(s: Spec, strategy: CompileOptions["strategy"] = bake, images?: string[]): Plan {
  const r = compile(s, { git, env: {} }, { strategy, ...(images ? { images } : {}) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.compiled.plan;
}
const stepsOf = (p: Plan) => p.stages.flatMap((s) => s.steps);

describe("signing in the plan", () => {
  test("a key pair: a sign stage between verify and publish; sign then verify by the verified digest; password in cosign's env only", () => {
    const p = plan(spec(KEY));
    expect(p.stages.map((s) => s.name)).toEqual(["build", "verify", "sign", "publish"]);
    const sign = stepsOf(p).find((s) => s.kind === "sign")!;
    const index = { verified: p.images[0]!.refs[0]!.staging };
    expect(sign.commands.map((c) => c.args)).toEqual([
      ["sign", "--yes", "--key", "keys/cosign.key", "--tlog-upload=false", "--allow-insecure-registry", index],
      ["verify", "--key", "keys/cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", index],
    ]);
    expect(sign.commands[0]!.setEnv).toEqual({ COSIGN_PASSWORD: { env: "COSIGN_PW" } });
    // already signed by this key: nothing to do
    expect(sign.doneIf).toEqual(sign.commands[1]);
    expect(stepsOf(p).find((s) => s.kind === "publish")!.moveTags?.signed).toBe(true);
    // the key file and the password are redacted wherever they could appear; the plan names only sources
    expect(p.secrets).toEqual([{ file: "keys/cosign.key" }, { env: "COSIGN_PW" }]);
    // checked before anything is built: the key opens with its password and is the public key's pair
    expect(p.signing).toEqual({
      mode: "key",
      tlog: false,
      keyPair: {
        publicKeyOf: { program: "cosign", args: ["public-key", "--key", "keys/cosign.key"], setEnv: { COSIGN_PASSWORD: { env: "COSIGN_PW" } } },
        publicKey: { file: "keys/cosign.pub" },
      },
    });
    // a signature tag the step pushed before failing is found by the index it signs
    expect(sign.signs).toBe(index.verified);
    expect(JSON.stringify(p)).not.toMatch(/PRIVATE KEY/);
  });

  test("no password: cosign gets an empty one and never prompts", () => {
    const sign = stepsOf(plan(spec("sign:\n  key: { file: cosign.key }\n"))).find((s) => s.kind === "sign")!;
    expect(sign.commands[0]!.setEnv).toEqual({ COSIGN_PASSWORD: "" });
  });

  test("nothing published, nothing signed: an internal image alone, or --no-publish", () => {
    expect(stepsOf(plan(spec(KEY), bake, ["base"])).filter((s) => s.kind === "sign")).toEqual([]);
    const r = compile(spec(KEY), { git, env: {} }, { strategy: bake, noPublish: true });
    expect(r.ok && stepsOf(r.compiled.plan).filter((s) => s.kind === "sign")).toEqual([]);
  });

  test("keyless: sign with CI's identity, verify against issuer and identity; the plan says keyless for CI generators", () => {
    const p = plan(spec(KEYLESS));
    const sign = stepsOf(p).find((s) => s.kind === "sign")!;
    expect(sign.commands[0]!.args.slice(0, 3)).toEqual(["sign", "--yes", "--allow-insecure-registry"]);
    expect(sign.commands[0]!.setEnv).toBeUndefined();
    expect(sign.commands[1]!.args.slice(0, 5)).toEqual([
      "verify",
      "--certificate-identity-regexp",
      "^https://github.com/acme/app/",
      "--certificate-oidc-issuer",
      "https://token.actions.githubusercontent.com",
    ]);
    expect(p.signing).toEqual({ mode: "keyless", tlog: true });
  });

  test("manifest strategy: the index is signed as under bake, and the lists published are copies of the signed one", () => {
    const p = plan(spec(KEY), manifest);
    expect(stepsOf(p).find((s) => s.kind === "sign")!.commands[0]!.args).not.toContain("--recursive");
    const publish = stepsOf(p).find((s) => s.kind === "publish")!;
    expect([publish.commands, publish.moveTags?.staging]).toEqual([[], p.images[0]!.refs[0]!.staging]);
    // no tag of one platform: every tag is the signed index of every platform
    expect(publish.produces).toEqual(["127.0.0.1:5000/x/app:1.0", "127.0.0.1:5000/x/app:latest"]);
  });

  test("the legacy builder cannot sign: it makes each list again when publishing", () => {
    const r = compile(spec(KEY), { git, env: {} }, { strategy: { ...manifest, legacyBuilder: true } });
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual([expect.stringContaining("signing needs docker buildx")]);
  });

  test("merge signs what it merged, as apply would", () => {
    const full = plan(spec(KEY));
    const commit = "c".repeat(40);
    const shard = (platform: Platform): Shard => ({
      version: 1,
      identity: { plan: planIdentity(full), commit },
      platform,
      images: {
        app: {
          tests: "none",
          refs: { "127.0.0.1:5000/x/app": { staging: "s", digest: `sha256:${platform.length}`, manifest: `sha256:m${platform.length}` } },
        },
      },
    });
    const m = mergePlan(full, [shard("linux/amd64"), shard("linux/arm64")], commit);
    if (!m.ok) throw new Error(m.problems.join("\n"));
    expect(m.plan.stages.map((s) => s.name)).toEqual(["merge", "verify", "sign", "publish"]);
    expect(m.plan.signing).toEqual(full.signing);
  });

  test("who signs is part of the input hash: turning signing on publishes again; off, hashes are as before", () => {
    const inputs: Record<string, ImageInputFacts> = Object.fromEntries(
      ["app", "base"].map((n) => [n, { dockerfile: "d", context: "c", contexts: {}, bases: [] }]),
    );
    const hash = (s: Spec) => {
      const r = compile(s, { git, env: {}, inputs }, { strategy: bake });
      return r.ok ? r.compiled.plan.images[0]!.inputHash : undefined;
    };
    const unsigned = hash(spec(""));
    expect(hash(spec(KEY))).not.toBe(unsigned);
    expect(hash(spec(KEYLESS))).not.toBe(hash(spec(KEY)));
    expect(hash(spec(""))).toBe(unsigned);
  });
});
