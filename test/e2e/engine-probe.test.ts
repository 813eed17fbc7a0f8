// How `plan` (strategy auto) asks the engine what it can build: straight from the engine's API over the
// local socket, or through the docker CLI when a context or a remote host is chosen. The two must say the
// same of one engine; a CLI that is missing altogether is the probe's to say (doctor.test.ts).
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { BIN, cli, docker, env, example } from "./helpers.ts";

const strategyOf = async (spec: string, e: Record<string, string>) => {
  const r = await cli(["plan", "-f", spec, "--json"], { env: e });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout).plan.strategy;
};

describe.skipIf(!env)("the engine probe of plan", () => {
  test("the local socket and a docker context naming it give the same facts; the socket's come without running the CLI", async () => {
    const spec = join(example("quickstart"), "multiarch.yaml");
    const bySocket = await strategyOf(spec, {});
    expect(bySocket.engine).toMatchObject({ reachable: true, driver: "docker" });

    // a docker config of its own with a context that names the same engine: the CLI answers then
    const config = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
    const made = await docker(["context", "create", "same-engine", "--docker", "host=unix:///var/run/docker.sock"], { env: { DOCKER_CONFIG: config } });
    expect(made.exitCode, made.stderr).toBe(0);
    expect(await strategyOf(spec, { DOCKER_CONFIG: config, DOCKER_CONTEXT: "same-engine" })).toEqual(bySocket);

    // a docker CLI that always fails: the socket's answer cannot have come from it
    const bin = mkdtempSync(join(tmpdir(), "multiarch-probe-bin-"));
    writeFileSync(join(bin, "docker"), "#!/bin/sh\necho 'this docker always fails' >&2\nexit 1\n");
    chmodSync(join(bin, "docker"), 0o755);
    expect(await strategyOf(spec, { PATH: `${bin}:${process.env.PATH}` })).toEqual(bySocket);
  });

  test("a socket nobody listens on is worded by the docker CLI", async () => {
    const spec = join(example("quickstart"), "multiarch.yaml");
    const missing = join(mkdtempSync(join(tmpdir(), "multiarch-probe-")), "docker.sock");
    const strategy = await strategyOf(spec, { DOCKER_HOST: `unix://${missing}` });
    expect(strategy.reason).toContain(`the docker engine at unix://${missing} is not reachable: Cannot connect to the Docker daemon`);
  });
});

test("Ctrl-C while the engine does not answer and stderr's reader is gone: the probe stops at once, exit 130, no crash", async () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
  // an engine that takes the connection and never answers
  const socket = join(dir, "engine.sock");
  const engine = createServer((c) => c.on("error", () => {}));
  await new Promise<void>((ready) => engine.listen(socket, ready));
  const child = spawn(process.execPath, [BIN, "plan", "-f", join(example("quickstart"), "multiarch.yaml")], {
    env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr.destroy();
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  await new Promise((r) => setTimeout(r, 1_500));
  expect(child.exitCode).toBeNull(); // still waiting for the engine
  const t0 = performance.now();
  // the signal's "stopping..." meets the closed stderr quietly; the probe is withdrawn, the run ends
  child.kill("SIGINT");
  expect(await exited).toBe(130);
  expect(performance.now() - t0).toBeLessThan(3_000);
  engine.close();
});

test("a selection that names nothing is reported at once, not after the engine's silence", async () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
  const socket = join(dir, "engine.sock");
  const engine = createServer((c) => c.on("error", () => {}));
  await new Promise<void>((ready) => engine.listen(socket, ready));
  try {
    const t0 = performance.now();
    const r = await cli(["plan", "-f", join(example("quickstart"), "multiarch.yaml"), "--image", "nope"], { env: { DOCKER_HOST: `unix://${socket}` } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("--image nope: no such image");
    expect(performance.now() - t0).toBeLessThan(5_000); // the engine would have been given 15 s
  } finally {
    engine.close();
  }
});
