import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { CredentialError, dockerConfigDir, lookupCredentials } from "./docker-config.ts";

/** A DOCKER_CONFIG with this config.json, and a PATH holding the given docker-credential-* scripts. */
function setup(config: object, helpers: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-dockercfg-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const [name, body] of Object.entries(helpers)) {
    writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, `docker-credential-${name}`), 0o755);
  }
  return { DOCKER_CONFIG: dir, PATH: `${bin}:/usr/bin:/bin` };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
// echoes the server address it was asked for as the user, so tests see what docker would have passed
const ECHO = `read server; printf '{"ServerURL":"%s","Username":"%s","Secret":"s3cret-value"}' "$server" "$server"`;

describe("docker's credentials", () => {
  test("the folder: DOCKER_CONFIG, else ~/.docker", () => {
    expect(dockerConfigDir({ DOCKER_CONFIG: "/x" })).toBe("/x");
    expect(dockerConfigDir({ HOME: "/home/u" })).toBe("/home/u/.docker");
  });

  test("auths: base64 user:password, under the host or a URL of it; an identity token", async () => {
    const env = setup({ auths: { "https://reg.example:5000/v2/": { auth: b64("u:p:with:colons") }, "other.example": { identitytoken: "tok" } } });
    expect(await lookupCredentials("reg.example:5000", env)).toMatchObject({ credential: { username: "u", password: "p:with:colons" } });
    expect((await lookupCredentials("other.example", env)).credential).toEqual({ identityToken: "tok" });
    const none = await lookupCredentials("third.example", env);
    expect(none.credential).toBeUndefined();
    expect(none.where).toContain("no auths entry, credHelpers entry or credsStore for third.example");
  });

  test("credsStore asks its helper with the server address on stdin; docker.io under its index address", async () => {
    const env = setup({ credsStore: "echo", auths: { "reg.example": { auth: b64("file:ignored") } } }, { echo: ECHO });
    const r = await lookupCredentials("reg.example", env);
    expect(r.credential).toEqual({ username: "reg.example", password: "s3cret-value" });
    expect(r.where).toBe(`docker-credential-echo (credsStore in ${env.DOCKER_CONFIG}/config.json)`);
    expect((await lookupCredentials("docker.io", env)).credential).toMatchObject({ username: "https://index.docker.io/v1/" });
  });

  test("credHelpers wins for its registry; credsStore for the others; <token> is an identity token", async () => {
    const env = setup(
      { credsStore: "echo", credHelpers: { "reg.example": "tok" } },
      { echo: ECHO, tok: `printf '{"ServerURL":"x","Username":"<token>","Secret":"refresh-me"}'` },
    );
    expect((await lookupCredentials("reg.example", env)).credential).toEqual({ identityToken: "refresh-me" });
    expect((await lookupCredentials("else.example", env)).credential).toMatchObject({ username: "else.example" });
  });

  test("a helper's 'not found' is no credentials; a failing or missing helper is a sentence without the secret", async () => {
    const env = setup(
      { credHelpers: { "a.example": "none", "b.example": "broken", "c.example": "absent" } },
      { none: "echo 'credentials not found in native keychain'; exit 1", broken: "echo 'oops s3cret-value' >&2; exit 3" },
    );
    expect((await lookupCredentials("a.example", env)).credential).toBeUndefined();
    const broken = await lookupCredentials("b.example", env).catch((e: Error) => e);
    expect(broken).toBeInstanceOf(CredentialError);
    expect((broken as Error).message).toBe(
      `credentials for b.example: the credential helper docker-credential-broken, named by credHelpers["b.example"] in ${env.DOCKER_CONFIG}/config.json, failed (exit code 3)`,
    );
    const absent = (await lookupCredentials("c.example", env).catch((e: Error) => e)) as Error;
    expect(absent.message).toMatch(/c\.example: the credential helper docker-credential-absent, named by credHelpers\["c\.example"\] in .*, is not on PATH$/);
  });
});
