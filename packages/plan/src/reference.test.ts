import { describe, expect, test } from "vitest";
import { byDigest, checkRepositoryPath, checkTag, parseImageRef, parseRegistryUrl, referenceName } from "./reference.ts";

describe("registry urls", () => {
  test.each([
    ["ghcr.io/acme", "ghcr.io", "acme"],
    ["127.0.0.1:5000", "127.0.0.1:5000", ""],
    ["localhost/team/sub", "localhost", "team/sub"],
    ["registry:5000/a", "registry:5000", "a"],
    ["[::1]:5000/x", "[::1]:5000", "x"],
    ["docker.io/acme/", "docker.io", "acme"],
  ])("%s", (url, host, namespace) => {
    expect(parseRegistryUrl(url)).toEqual({ ok: true, value: { host, namespace } });
  });
  test.each(["myreg/app", "acme", "https://ghcr.io/x", "ghcr.io/Acme", "::1/x", "[fe80::1%eth0]:5000", "bad_host.io/x", "ghcr.io/a//b"])(
    "%s is refused",
    (url) => {
      expect(parseRegistryUrl(url).ok).toBe(false);
    },
  );
});

describe("repositories and tags", () => {
  test.each(["app", "acme-api", "a/b/c", "a__b", "a.b", "a---b"])("repository %s", (r) => expect(checkRepositoryPath(r).ok).toBe(true));
  test.each(["App", "-app", "app-", "a//b", "a:b", "x".repeat(256)])("repository %s is refused", (r) => expect(checkRepositoryPath(r).ok).toBe(false));
  test.each(["latest", "1.2.0", "v1_2", "_x", "A".repeat(128)])("tag %s", (t) => expect(checkTag(t).ok).toBe(true));
  test.each(["", "-rc1", ".x", "v1+build", "feature/x", "a b", "A".repeat(129)])("tag %j is refused", (t) => expect(checkTag(t).ok).toBe(false));
  // found by a review: "tags may not contain spaces !" read as one thing
  test("the characters a tag may not hold are named one by one", () => {
    expect(checkTag("bad tag!")).toMatchObject({ ok: false, hint: expect.stringMatching(/^tags may not contain spaces, "!"; /) });
  });
});

describe("parseImageRef", () => {
  test.each([
    ["alpine", { host: "docker.io", path: "library/alpine", tag: "latest" }],
    ["debian:12", { host: "docker.io", path: "library/debian", tag: "12" }],
    ["acme/app:1", { host: "docker.io", path: "acme/app", tag: "1" }],
    ["127.0.0.1:5000/base/busybox:1", { host: "127.0.0.1:5000", path: "base/busybox", tag: "1" }],
    ["localhost/x", { host: "localhost", path: "x", tag: "latest" }],
    [`ghcr.io/a/b@sha256:${"a".repeat(64)}`, { host: "ghcr.io", path: "a/b", digest: `sha256:${"a".repeat(64)}` }],
  ])("%s", (ref, expected) => {
    expect(parseImageRef(ref)).toEqual({ ok: true, value: expected });
  });
  test("invalid", () => {
    expect(parseImageRef("UPPER/x").ok).toBe(false);
    expect(parseImageRef("x:bad tag").ok).toBe(false);
  });
});

describe("names as written", () => {
  test.each([
    ["127.0.0.1:5000/x/app:multiarch-staging-abc-arm64", "127.0.0.1:5000/x/app"],
    ["localhost:5000/app", "localhost:5000/app"],
    ["ghcr.io/acme/app@sha256:abc", "ghcr.io/acme/app"],
    ["docker.io/app:1.0", "docker.io/app"],
  ])("%s names %s", (ref, name) => {
    expect(referenceName(ref)).toBe(name);
    expect(byDigest(ref, "sha256:1")).toBe(`${name}@sha256:1`);
  });
});
