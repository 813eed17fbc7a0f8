import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, vi } from "vitest";
import { localEngineSocket, probeEngine, publicUrl } from "./probe.ts";

test("the local engine's socket is asked directly only where the docker CLI would use it", () => {
  const config = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
  const none = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
  writeFileSync(join(config, "config.json"), JSON.stringify({ currentContext: "remote" }));
  expect(localEngineSocket({ DOCKER_CONFIG: none })).toBe("/var/run/docker.sock");
  expect(localEngineSocket({ DOCKER_CONFIG: none, DOCKER_CONTEXT: "default" })).toBe("/var/run/docker.sock");
  expect(localEngineSocket({ DOCKER_CONFIG: none, DOCKER_HOST: "unix:///run/user/1000/docker.sock" })).toBe("/run/user/1000/docker.sock");
  // remote hosts, TLS and ssh are the CLI's
  expect(localEngineSocket({ DOCKER_CONFIG: none, DOCKER_HOST: "tcp://10.0.0.2:2376" })).toBeUndefined();
  expect(localEngineSocket({ DOCKER_CONFIG: none, DOCKER_HOST: "ssh://builder@arm-box" })).toBeUndefined();
  // a relative socket path is the folder's the CLI runs in (the spec's), not this process's
  expect(localEngineSocket({ DOCKER_CONFIG: none, DOCKER_HOST: "unix://var/run/docker.sock" })).toBeUndefined();
  // a chosen context may name any engine; DOCKER_HOST wins over it, as in the CLI
  expect(localEngineSocket({ DOCKER_CONFIG: none, DOCKER_CONTEXT: "colima" })).toBeUndefined();
  expect(localEngineSocket({ DOCKER_CONFIG: config })).toBeUndefined();
  expect(localEngineSocket({ DOCKER_CONFIG: config, DOCKER_HOST: "unix:///var/run/docker.sock" })).toBe("/var/run/docker.sock");
});

test("a docker config.json that holds null is an empty config, as the docker CLI reads it", () => {
  const config = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
  writeFileSync(join(config, "config.json"), "null\n");
  expect(localEngineSocket({ DOCKER_CONFIG: config })).toBe("/var/run/docker.sock");
});

test("an engine that takes the request and never answers: the probe ends after 15 s, without asking the CLI again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-probe-"));
  const socket = join(dir, "engine.sock");
  const engine = createServer((c) => c.on("error", () => {}));
  await new Promise<void>((ready) => engine.listen(socket, ready));
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const env = { DOCKER_CONFIG: dir, DOCKER_HOST: `unix://${socket}`, PATH: process.env.PATH };
    const probed = probeEngine(dir, env);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await probed).toMatchObject({ reachable: false, reason: `the docker engine at unix://${socket} did not answer within 15 s` });
  } finally {
    vi.useRealTimers();
    engine.close();
  }
});

// found by a review: a token in the origin URL's query reached the image's source label
test("the source URL a label carries keeps no credentials: user part, query and fragment dropped", () => {
  expect(publicUrl("https://user:pw@github.com/acme/app.git")).toBe("https://github.com/acme/app");
  expect(publicUrl("https://github.com/acme/app.git?token=QUERYTOK5#frag")).toBe("https://github.com/acme/app");
  expect(publicUrl("git@github.com:acme/app.git")).toBe("https://github.com/acme/app");
  expect(publicUrl("file:///srv/app.git")).toBeUndefined();
});
