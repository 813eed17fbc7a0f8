// Messages as the real tools print them (docker push, buildx bake/imagetools, docker manifest).
import { describe, expect, test } from "vitest";
import { backoffMs, isTransient } from "./retry.ts";

describe("isTransient", () => {
  test.each([
    ["push", "received unexpected HTTP status: 503 Service Unavailable", true],
    ["push", "toomanyrequests: You have reached your pull rate limit", true],
    [
      "publish",
      'ERROR: failed to push 127.0.0.1:5000/x:1: Put "http://127.0.0.1:5000/v2/x/manifests/1": read tcp 127.0.0.1:4242->127.0.0.1:5000: read: connection reset by peer',
      true,
    ],
    [
      "bake",
      "ERROR: failed to solve: failed to push 127.0.0.1:5000/x:s: unexpected status from HEAD request to http://127.0.0.1:5000/v2/x/blobs/sha256:1: 500 Internal Server Error",
      true,
    ],
    ["verify", 'ERROR: Get "http://127.0.0.1:5000/v2/": EOF', true],
    // many OCI layout exports at once on a busy engine (seen at 30 targets): the build itself is cached
    [
      "bake",
      "ERROR: (*service).Write failed: rpc error: code = Unavailable desc = transport is closing\nERROR: failed to solve: DeadlineExceeded: context deadline exceeded",
      true,
    ],
    // an export whose content the engine's garbage collection removed under it (an image removed while
    // the build ran, seen in the e2e tier): the build itself is cached
    ["bake", "#10 exporting manifest list sha256:32 0.0s done\n#10 DONE 1.0s\nERROR: failed to solve: not found", true],
    // "not found" of something the build names is the user's to fix
    ["bake", 'ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 1::2: "/app.txt": not found', false],
    ["bake", "ERROR: failed to solve: 127.0.0.1:5000/base:1: failed to resolve source metadata for 127.0.0.1:5000/base:1: not found", false],
    ["manifest", "failed to put manifest 127.0.0.1:5000/x:1: net/http: TLS handshake timeout", true],
    [
      "sign",
      "Error: signing [127.0.0.1:5000/x@sha256:1]: PUT http://127.0.0.1:5000/v2/x/manifests/sha256-1.sig: unexpected status code 503 Service Unavailable",
      true,
    ],
    ["sign", "Error: signing [127.0.0.1:5000/x@sha256:1]: getting signer: reading key: decrypt: encrypted: decryption failed", false],
    ["push", "unauthorized: authentication required", false],
    ["push", "denied: requested access to the resource is denied", false],
    ["publish", "MANIFEST_INVALID: manifest invalid", false],
    ["bake", 'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2', false],
    ["bake", "ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN", false],
    // a build step is never retried, whatever it printed
    ["build", "received unexpected HTTP status: 503 Service Unavailable", false],
    ["test", "503", false],
  ] as const)("%s: %s", (kind, stderr, expected) => {
    expect(isTransient(kind, "", stderr)).toBe(expected);
  });

  test("only the last lines count: a build log above the error is not read", () => {
    const log = ["#5 0.2 GET /status 503 from the app's own test", ...Array(10).fill("#6 ..."), "ERROR: failed to solve: exit code: 1"].join("\n");
    expect(isTransient("bake", "", log)).toBe(false);
  });

  test("backoff doubles, with jitter between 0.5x and 1.5x", () => {
    const p = { attempts: 4, baseDelayMs: 1000 };
    expect([1, 2, 3].map((t) => backoffMs(p, t, 0.5))).toEqual([1000, 2000, 4000]);
    expect(backoffMs(p, 1, 0)).toBe(500);
    expect(backoffMs(p, 1, 1)).toBe(1500);
  });
});
