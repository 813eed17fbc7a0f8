// Releases users can trust (issue 22): every published index signed by digest with real cosign before
// any tag moves, a broken key moving nothing; promote rolling tags back to an earlier version's index,
// copying a verified, signed index between registries by digest, and refusing an incomplete one.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { cli, docker, env, namespace, platformsOf, repo, reportOf, tagsOf, watchArgv } from "./helpers.ts";

const PASSWORD = "pw-e2e-Zq8sJ3vK1"; // the signing key's password: must appear in no argv, output or file
const TAGS = '["{{version}}", "{{majorMinor version}}", "{{major version}}", latest]';

/** A project whose app image is a COPY of one file (nothing runs under QEMU), with a fresh cosign key pair. */
async function signedProject(registries: string, imageRegistries = "") {
  const dir = repo({
    "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
${registries}
variables:
  version: { env: VERSION, default: "0.0.0" }
sign:
  key: { file: cosign.key }
  password: { env: SIGN_PASSWORD }
images:
  app:
    context: app
    tags: ${TAGS}
${imageRegistries}`,
    "app/Dockerfile": `FROM ${env!.baseImage}\nCOPY v /v\n`,
    "app/v": "1\n",
  });
  const gen = await execa("cosign", ["generate-key-pair"], { cwd: dir, env: { COSIGN_PASSWORD: PASSWORD }, reject: false, stdin: "ignore" });
  expect(gen.exitCode, gen.stderr).toBe(0);
  return dir;
}

const cosignVerify = (ref: string, dir: string) =>
  execa("cosign", ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", ref], { cwd: dir, reject: false, stdin: "ignore" });

/** apply (or promote) with the key's password in the environment, as CI would give it. */
async function run(dir: string, args: string[], version?: string, extra: Record<string, string> = {}) {
  return cli([...args, "-f", join(dir, "multiarch.yaml"), "--json"], { env: { SIGN_PASSWORD: PASSWORD, ...(version ? { VERSION: version } : {}), ...extra } });
}

const digestOf = async (ref: string) => (await platformsOf(ref)).digest;
const stepsBy = (report: { steps: { id: string; kind: string; status: string; startMs: number; durationMs: number; error?: string }[] }, kind: string) =>
  report.steps.filter((s) => s.kind === kind);

/** A signer refused before anything was built: exit 4 with its sentence, no step ran, the tag list as it was. */
async function expectRefusedBeforeBuild(r: { exitCode: number; stdout: string; stderr: string }, said: RegExp, repository: string, tags: string[]) {
  expect(r.exitCode, r.stderr).toBe(4);
  expect(r.stderr).toMatch(said);
  expect(JSON.parse(r.stdout).report).toBeUndefined(); // no bake, no push, no sign
  expect(r.stderr).not.toContain("== build");
  expect(await tagsOf(repository)).toEqual(tags);
}

describe.skipIf(!env)("releases: signing and promote", () => {
  test("each index is signed before any tag moves, inspect --key checks it, and a broken key moves nothing", async () => {
    const ns = namespace("sign");
    const dir = await signedProject(`  local: { url: "${env!.registry}/${ns}", insecure: true }`);
    const name = `${env!.registry}/${ns}/app`;

    // watch every command line on the machine while the release runs
    const stop = watchArgv();
    const first = await run(dir, ["apply"], "1.0.0");
    const seen = stop();
    expect(first.exitCode, first.stderr).toBe(0);
    const report = reportOf(first.stdout);
    const [sign] = stepsBy(report, "sign");
    expect(sign).toMatchObject({ id: "sign:app@local", status: "ok" });
    // signed before the first tag moved, and the signature checked by cosign itself
    for (const p of stepsBy(report, "publish")) expect(p.startMs).toBeGreaterThanOrEqual(sign!.startMs + sign!.durationMs);
    const planned = JSON.parse(readFileSync(join(dir, ".multiarch/plan.json"), "utf8"));
    const signing = planned.stages.find((s: { name: string }) => s.name === "sign").steps[0].commands[0];
    expect(signing).toMatchObject({ program: "cosign", setEnv: { COSIGN_PASSWORD: { env: "SIGN_PASSWORD" } } });
    expect((await cosignVerify(`${name}:latest`, dir)).exitCode).toBe(0);
    expect((await cosignVerify(`${name}:1.0.0`, dir)).exitCode).toBe(0);

    const inspected = await cli(["inspect", `${name}:1`, "--key", join(dir, "cosign.pub"), "--json"]);
    expect(inspected.exitCode, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout).signature).toMatchObject({ verified: true });
    const unsigned = await cli(["inspect", env!.baseImage, "--key", join(dir, "cosign.pub")]);
    expect(unsigned.exitCode).toBe(3);
    expect(unsigned.stdout).toContain("not signed by this key");

    // the password is in no process's argv, no output, no file multiarch wrote
    expect(seen.filter((c) => c.includes(PASSWORD))).toEqual([]);
    expect(first.stdout + first.stderr).not.toContain(PASSWORD);
    expect(readFileSync(join(dir, ".multiarch/plan.json"), "utf8")).not.toContain(PASSWORD);
    const key = readFileSync(join(dir, "cosign.key"), "utf8");
    expect(readFileSync(join(dir, ".multiarch/plan.json"), "utf8")).not.toContain(key.split("\n")[1]!);

    // a new version of unchanged inputs: the index is reused, already signed, so not signed again
    const again = await run(dir, ["apply"], "1.0.1");
    expect(again.exitCode, again.stderr).toBe(0);
    expect(stepsBy(reportOf(again.stdout), "sign").map((s) => s.status)).toEqual(["unchanged"]);
    expect(await digestOf(`${name}:1.0.1`)).toBe(await digestOf(`${name}:1.0.0`));

    // a broken key: found before anything is built (exit 4, as with no cosign); no tag moves, nothing is pushed
    const tags = await tagsOf(`${ns}/app`);
    writeFileSync(join(dir, "app/v"), "2\n");
    writeFileSync(join(dir, "cosign.key"), key.replace(/\n[A-Za-z0-9+/]{8}/, "\nAAAAAAAA"));
    const broken = await run(dir, ["apply"], "2.0.0");
    await expectRefusedBeforeBuild(broken, /cannot open the signing key cosign\.key/, `${ns}/app`, tags);
    expect(broken.stdout + broken.stderr).not.toContain(PASSWORD);
  });

  test("a public key of another pair, or a wrong password: exit 4 before anything is built, the tag list as it was", async () => {
    const ns = namespace("sign-pair");
    const dir = await signedProject(`  local: { url: "${env!.registry}/${ns}", insecure: true }`);
    expect((await run(dir, ["apply"], "1.0.0")).exitCode).toBe(0);
    const tags = await tagsOf(`${ns}/app`);
    expect(tags.filter((t) => t.endsWith(".sig"))).toHaveLength(1);
    writeFileSync(join(dir, "app/v"), "2\n");

    // publicKey: the public half of another pair (cosign would sign, and its check would fail)
    mkdirSync(join(dir, "other"));
    const gen = await execa("cosign", ["generate-key-pair"], { cwd: join(dir, "other"), env: { COSIGN_PASSWORD: "other" }, reject: false, stdin: "ignore" });
    expect(gen.exitCode, gen.stderr).toBe(0);
    const specFile = join(dir, "multiarch.yaml");
    const spec = readFileSync(specFile, "utf8");
    writeFileSync(specFile, spec.replace("  password:", "  publicKey: { file: other/cosign.pub }\n  password:"));
    const mismatched = await run(dir, ["apply"], "2.0.0");
    await expectRefusedBeforeBuild(mismatched, /signing key cosign\.key and the public key other\/cosign\.pub are not one pair/, `${ns}/app`, tags);

    // the right pair, a wrong password
    writeFileSync(specFile, spec);
    const WRONG = "not-the-password-7Qx";
    const wrong = await cli(["apply", "-f", specFile, "--json"], { env: { SIGN_PASSWORD: WRONG, VERSION: "2.0.0" } });
    await expectRefusedBeforeBuild(wrong, /cannot open the signing key cosign\.key with the password from \$SIGN_PASSWORD/, `${ns}/app`, tags);
    expect(wrong.stdout + wrong.stderr).not.toContain(WRONG);
  });

  test("a signature cosign cannot verify at the sign stage: no tag moves, and the signature tag it pushed is deleted", async () => {
    const ns = namespace("sign-stray");
    const dir = await signedProject(`  local: { url: "${env!.registry}/${ns}", insecure: true }`);
    const name = `${env!.registry}/${ns}/app`;
    // a rare failure after the signature is pushed: real cosign signs, and every cosign verify says no
    const real = (process.env.PATH ?? "").split(":").find((d) => existsSync(join(d, "cosign")));
    const bin = mkdtempSync(join(tmpdir(), "multiarch-cosign-"));
    writeFileSync(
      join(bin, "cosign"),
      `#!/bin/sh\nif [ "$1" = verify ]; then echo "Error: no matching signatures (test)" >&2; exit 1; fi\nexec ${join(real!, "cosign")} "$@"\n`,
      { mode: 0o755 },
    );
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], {
      env: { PATH: `${bin}:${process.env.PATH}`, SIGN_PASSWORD: PASSWORD, VERSION: "1.0.0" },
    });
    expect(r.exitCode, r.stderr).toBe(2);
    const failed = reportOf(r.stdout);
    const [sign] = stepsBy(failed, "sign");
    expect(sign).toMatchObject({ status: "failed" });
    expect(sign!.error).toMatch(/deleted the signature tag \S+:sha256-[0-9a-f]{64}\.sig this step pushed/);
    expect(stepsBy(failed, "publish").map((s) => s.status)).toEqual(["not-run"]);
    expect(failed.tags.every((t: { status: string }) => t.status === "not-moved")).toBe(true);
    expect(r.stderr).toContain("no user tag was moved");
    // the index stays by digest only: no user tag, no signature tag
    expect(failed.staged.map((s: { ref: string }) => s.ref)).toEqual([expect.stringMatching(new RegExp(`^${name}@sha256:`))]);
    expect(await tagsOf(`${ns}/app`)).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  test("no cosign on this machine: exit 4 before anything is built", async () => {
    const ns = namespace("sign-nocosign");
    const dir = await signedProject(`  local: { url: "${env!.registry}/${ns}", insecure: true }`);
    const bin = mkdtempSync(join(tmpdir(), "multiarch-path-"));
    for (const tool of ["docker", "git"]) {
      const found = (process.env.PATH ?? "").split(":").find((d) => existsSync(join(d, tool)));
      symlinkSync(join(found!, tool), join(bin, tool));
    }
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { PATH: bin, SIGN_PASSWORD: PASSWORD, VERSION: "1.0.0" } });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain("this plan signs with cosign");
    expect(r.stderr).not.toContain("== build");
  });

  test("manifest strategy: the lists published are the signed one", async () => {
    const ns = namespace("sign-manifest");
    const dir = await signedProject(`  local: { url: "${env!.registry}/${ns}", insecure: true }\nbuild: { strategy: manifest }`);
    const name = `${env!.registry}/${ns}/app`;
    const r = await run(dir, ["apply"], "1.0.0");
    expect(r.exitCode, r.stderr).toBe(0);
    for (const tag of ["latest", "1", "1.0.0"]) expect((await cosignVerify(`${name}:${tag}`, dir)).exitCode, tag).toBe(0);
  });

  test("merge signs the index it made from the shards before its tags move", async () => {
    const ns = namespace("sign-merge");
    const dir = await signedProject(`  local: { url: "${env!.registry}/${ns}", insecure: true }`);
    const name = `${env!.registry}/${ns}/app`;
    const shards = await run(dir, ["apply", "--shard", "linux/amd64", "--shard", "linux/arm64"], "1.0.0");
    expect(shards.exitCode, shards.stderr).toBe(0);
    expect((await docker(["buildx", "imagetools", "inspect", `${name}:latest`])).exitCode).not.toBe(0);
    const merged = await run(dir, ["merge"], "1.0.0");
    expect(merged.exitCode, merged.stderr).toBe(0);
    const report = reportOf(merged.stdout);
    expect(report.steps.map((s: { kind: string }) => s.kind)).toEqual(["manifest", "verify", "sign", "publish"]);
    expect((await cosignVerify(`${name}:latest`, dir)).exitCode).toBe(0);
  });

  test("promote: roll back after a bad release, copy a signed index between registries by digest, refuse incomplete or unsigned ones", async () => {
    const ns = namespace("promote");
    const dir = await signedProject(
      `  staging: { url: "${env!.registry}/${ns}-staging", insecure: true }\n  prod: { url: "${env!.registry}/${ns}-prod", insecure: true }`,
      "    registries: [staging]\n",
    );
    const staging = `${env!.registry}/${ns}-staging/app`;
    const prod = `${env!.registry}/${ns}-prod/app`;
    expect((await run(dir, ["apply"], "1.4.2")).exitCode).toBe(0);
    const good = await digestOf(`${staging}:1.4.2`);
    writeFileSync(join(dir, "app/v"), "bad\n");
    expect((await run(dir, ["apply"], "1.5.0")).exitCode).toBe(0);
    const bad = await digestOf(`${staging}:1.5.0`);
    expect(await digestOf(`${staging}:latest`)).toBe(bad);

    // a version never published: said as such, nothing moves
    const never = await run(dir, ["promote", "9.9.9"]);
    expect(never.exitCode).toBe(3);
    expect(never.stdout + never.stderr).toContain(`${staging}:9.9.9: the registry has no such image (HTTP 404)`);

    // roll back: latest and 1 go back to 1.4.2's index; 1.4 and 1.4.2 already hold it and are left alone.
    // promote runs in-process (and cosign): a machine without a docker engine can roll back, and a checkout
    // without the build inputs (a Dockerfile since removed): nothing is built (both found by reviews)
    renameSync(join(dir, "app/Dockerfile"), join(dir, "app/Dockerfile.away"));
    const back = await run(dir, ["promote", "1.4.2"], undefined, { DOCKER_HOST: "unix:///nonexistent.sock" });
    renameSync(join(dir, "app/Dockerfile.away"), join(dir, "app/Dockerfile"));
    expect(back.exitCode, back.stderr).toBe(0);
    const rolled = reportOf(back.stdout);
    expect(rolled.promoted).toEqual({ version: "1.4.2", sources: { "app@staging": `${staging}:1.4.2` } });
    expect(rolled.tags.map((t: { ref: string; status: string }) => `${t.ref.slice(staging.length + 1)} ${t.status}`)).toEqual([
      "1.4.2 unchanged",
      "1.4 unchanged",
      "1 moved",
      "latest moved",
    ]);
    expect(stepsBy(rolled, "build")).toEqual([]);
    for (const t of ["latest", "1", "1.4", "1.4.2"]) expect(await digestOf(`${staging}:${t}`)).toBe(good);
    for (const t of ["1.5", "1.5.0"]) expect(await digestOf(`${staging}:${t}`)).toBe(bad);

    // dry run: the commands, nothing moved
    const dry = await run(dir, ["promote", "1.5.0", "--from", "staging", "--to", "prod", "--dry-run"]);
    expect(dry.exitCode).toBe(0);
    expect(JSON.parse(dry.stdout).dryRun.map((d: { stage: string }) => d.stage)).toEqual([
      "verify",
      "signature",
      "copy",
      "verify-copy",
      "sign",
      "sign",
      "publish",
    ]);
    expect((await docker(["buildx", "imagetools", "inspect", `${prod}:1.5.0`])).exitCode).not.toBe(0);

    // staging to production: the very same index, signed there before its tags moved
    const copied = await run(dir, ["promote", "1.4.2", "--from", "staging", "--to", "prod"]);
    expect(copied.exitCode, copied.stderr).toBe(0);
    const report = reportOf(copied.stdout);
    expect(report.steps.map((s: { id: string }) => s.id)).toEqual([
      "verify:app@staging",
      "verify-signature:app@staging",
      "copy:app@prod",
      "verify:app@prod",
      "sign:app@prod",
      "publish:app@prod",
    ]);
    expect(report.tags.map((t: { ref: string; status: string; digest: string }) => [t.ref, t.status, t.digest])).toEqual(
      ["1.4.2", "1.4", "1", "latest"].map((t) => [`${prod}:${t}`, "moved", good]),
    );
    expect((await cosignVerify(`${prod}:latest`, dir)).exitCode).toBe(0);
    expect((await platformsOf(`${prod}:latest`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    // copied by digest: production's tags are the spec's and cosign's signature, no copy's tag
    expect((await tagsOf(`${ns}-prod/app`)).filter((t) => !t.endsWith(".sig"))).toEqual(["1", "1.4", "1.4.2", "latest"]);

    // an index without a planned platform (amd64 alone) is refused: exit 3, no tag moves
    const base = JSON.parse((await docker(["buildx", "imagetools", "inspect", env!.baseImage, "--format", "{{json .Manifest}}"])).stdout);
    const byArch = (arch: string) =>
      `${env!.baseImage.split(":").slice(0, -1).join(":")}@${base.manifests.find((m: { platform?: { architecture: string } }) => m.platform?.architecture === arch).digest}`;
    expect((await docker(["buildx", "imagetools", "create", "--tag", `${staging}:1.3.0`, byArch("amd64")])).exitCode).toBe(0);
    const partial = await run(dir, ["promote", "1.3.0"]);
    expect(partial.exitCode).toBe(3);
    expect(partial.stderr).toMatch(/missing linux\/arm64/);
    expect(reportOf(partial.stdout).tags.every((t: { status: string }) => t.status === "not-moved")).toBe(true);
    expect(await digestOf(`${staging}:latest`)).toBe(good);

    // every platform, but not built by multiarch (busybox pushed by hand under the version's tag): refused
    expect((await docker(["buildx", "imagetools", "create", "--tag", `${staging}:1.1.0`, byArch("amd64"), byArch("arm64")])).exitCode).toBe(0);
    const foreign = await run(dir, ["promote", "1.1.0"]);
    expect(foreign.exitCode).toBe(3);
    expect(foreign.stderr).toContain(`${staging}:1.1.0 was not built by multiarch (linux/amd64 has no io.multiarch.input-hash`);
    expect(reportOf(foreign.stdout).tags.every((t: { status: string }) => t.status === "not-moved")).toBe(true);
    expect(await digestOf(`${staging}:latest`)).toBe(good);

    // the images of 1.4.2 (built by multiarch) in a new index, which the spec's key never signed: refused too
    const goodIndex = JSON.parse((await docker(["buildx", "imagetools", "inspect", `${staging}:1.4.2`, "--format", "{{json .Manifest}}"])).stdout);
    const images = goodIndex.manifests
      .filter((m: { platform?: { os: string } }) => m.platform?.os === "linux")
      .map((m: { digest: string }) => `${staging}@${m.digest}`);
    expect(images).toHaveLength(2);
    expect((await docker(["buildx", "imagetools", "create", "--tag", `${staging}:1.2.0`, ...images])).exitCode).toBe(0);
    const unsigned = await run(dir, ["promote", "1.2.0", "--from", "staging", "--to", "prod"]);
    expect(unsigned.exitCode).toBe(3);
    expect(stepsBy(reportOf(unsigned.stdout), "verify").map((s) => s.status)).toEqual(["ok", "failed", "not-run"]);
    expect(await digestOf(`${prod}:latest`)).toBe(good);
    expect((await docker(["buildx", "imagetools", "inspect", `${prod}:1.2.0`])).exitCode).not.toBe(0);
  });
});
