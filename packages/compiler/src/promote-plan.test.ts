import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Plan, Step } from "@multiarch/plan";
import { parsePlanFile } from "@multiarch/plan/read";
import { loadSpec, type Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { promotePlan } from "./promote-plan.ts";

/** A spec whose version variable is already set, as `multiarch promote` sets it. */
function spec(extra = "", version = "1.4.2"): Spec {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-promote-"));
  mkdirSync(join(dir, ".git"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/Dockerfile"), "FROM scratch\n");
  writeFileSync(
    join(dir, "multiarch.yaml"),
    `version: 1
registries:
  staging: { url: 127.0.0.1:5000/staging, insecure: true }
  prod: { url: ghcr.io/acme }
variables:
  version: "${version}"
${extra}images:
  app:
    context: app
    tags: ["{{version}}", "{{majorMinor version}}", "{{major version}}", "{{version}}-{{git.shortSha}}", latest]
  base: { context: app, publish: false }
`,
  );
  const r = loadSpec(join(dir, "multiarch.yaml"));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
const facts = { git: undefined, env: {} };
const steps = (plan: Plan) => plan.stages.flatMap((s) => s.steps);
const argsOf = (s: Step) => s.commands.map((c) => [c.program, ...c.args.map((a) => (typeof a === "string" ? a : JSON.stringify(a)))].join(" "));

describe("promotePlan", () => {
  test("in place: verify what VERSION's tag holds, then every tag of that version to it, latest last; git.* tags left out", () => {
    const r = promotePlan(spec(), facts, {});
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.stages.map((s) => s.name)).toEqual(["verify", "publish"]);
    expect(r.plan.images.map((i) => i.name)).toEqual(["app"]); // not the internal image
    const verify = steps(r.plan).filter((s) => s.kind === "verify");
    expect(verify.map((s) => s.expect)).toEqual([
      // labels: built by multiarch, not an index pushed by hand under the version's tag
      { ref: "127.0.0.1:5000/staging/app:1.4.2", platforms: ["linux/amd64", "linux/arm64"], labels: ["io.multiarch.input-hash"] },
      { ref: "ghcr.io/acme/app:1.4.2", platforms: ["linux/amd64", "linux/arm64"], labels: ["io.multiarch.input-hash"] },
    ]);
    const publish = steps(r.plan).find((s) => s.id === "publish:app@prod")!;
    expect(publish.moveTags).toMatchObject({
      staging: "ghcr.io/acme/app:1.4.2",
      tags: ["ghcr.io/acme/app:1.4.2", "ghcr.io/acme/app:1.4", "ghcr.io/acme/app:1", "ghcr.io/acme/app:latest"],
    });
    expect(r.sources).toEqual({ "app@staging": "127.0.0.1:5000/staging/app:1.4.2", "app@prod": "ghcr.io/acme/app:1.4.2" });
    expect(parsePlanFile(JSON.parse(JSON.stringify(r.plan))).ok).toBe(true);
  });

  test("a prerelease gives only its own tags (the spec's tag rules decide)", () => {
    const r = promotePlan(spec("", "2.0.0-rc.1"), facts, {});
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.images[0]!.refs[0]!.tags[0]).toBe("2.0.0-rc.1");
  });

  test("--from/--to: verified and signature-checked at the source, copied by digest, the very same index checked, signed, then tagged", () => {
    const r = promotePlan(spec("sign:\n  key: { env: COSIGN_KEY }\n  publicKey: { file: cosign.pub }\n  password: { env: COSIGN_PW }\n"), facts, {
      from: "staging",
      to: "prod",
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.stages.map((s) => s.name)).toEqual(["verify", "signature", "copy", "verify-copy", "sign", "publish"]);
    const all = steps(r.plan);
    const source = "127.0.0.1:5000/staging/app:1.4.2";
    expect(all.find((s) => s.id === "verify-signature:app@staging")!.commands[0]!.args).toEqual([
      "verify",
      "--key",
      "cosign.pub",
      "--insecure-ignore-tlog",
      "--allow-insecure-registry",
      { verified: source },
    ]);
    const copy = all.find((s) => s.kind === "manifest")!;
    // copied in-process by digest (no tag), recorded under a key named after the source
    expect(copy.commands).toEqual([]);
    expect(copy.copy).toEqual({
      from: source,
      fromInsecure: true,
      ref: expect.stringMatching(/^ghcr\.io\/acme\/app:multiarch-promote-[0-9a-f]{12}$/),
      insecure: false,
    });
    expect(copy.produces).toEqual([copy.copy!.ref]);
    const check = all.find((s) => s.id === "verify:app@prod")!;
    expect(check.expect).toMatchObject({ ref: copy.produces[0], sameAs: source });
    expect(check.read?.ref).toEqual({ built: copy.produces[0] });
    const sign = all.find((s) => s.kind === "sign")!;
    expect(argsOf(sign)[0]).toBe(`cosign sign --yes --key env://COSIGN_KEY --tlog-upload=false {"verified":"${copy.produces[0]}"}`);
    expect(sign.commands[0]!.setEnv).toEqual({ COSIGN_PASSWORD: { env: "COSIGN_PW" } });
    expect(all.find((s) => s.kind === "publish")!.moveTags).toMatchObject({ signed: true });
    // only the destination's tags move; key and password are redacted sources
    expect(all.filter((s) => s.kind === "publish").map((s) => s.registry)).toEqual(["prod"]);
    expect(r.plan.secrets).toEqual([{ env: "COSIGN_KEY" }, { env: "COSIGN_PW" }]);
    expect(r.plan.signing).toMatchObject({ mode: "key", tlog: false, keyPair: { publicKeyOf: { args: ["public-key", "--key", "env://COSIGN_KEY"] } } });
  });

  test("bad selections are errors, not plans", () => {
    const errs = (o: Parameters<typeof promotePlan>[2]) => {
      const r = promotePlan(spec(), facts, o);
      return r.ok ? [] : r.errors.map((e) => `${e.message}${e.hint ? ` (${e.hint})` : ""}`);
    };
    expect(errs({ from: "staging" })).toEqual([expect.stringContaining("--from and --to go together")]);
    expect(errs({ from: "stagin", to: "prod" })).toEqual([expect.stringMatching(/--from stagin: no such registry \(did you mean staging\?\)/)]);
    expect(errs({ from: "prod", to: "prod" })).toEqual([expect.stringContaining("both name prod")]);
    expect(errs({ images: ["base"] })).toEqual([expect.stringContaining("no published image")]);
  });
});
