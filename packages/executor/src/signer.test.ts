import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Plan } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { RegistryClient } from "./registry.ts";
import { keyMaterial, removeStraySignature, signatureTag, signerProblem } from "./signer.ts";

const pem = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();

describe("the key material of a public key", () => {
  test("PEM formatting does not count; another key does", () => {
    const a = pem();
    const reflowed = a.replace(/\n/g, "\r\n").trimEnd();
    expect(keyMaterial(reflowed)?.equals(keyMaterial(a)!)).toBe(true);
    expect(keyMaterial(pem())?.equals(keyMaterial(a)!)).toBe(false);
    expect(keyMaterial("not a key")).toBeUndefined();
  });
});

const TAG = "127.0.0.1:5000/x/app:sha256-abc.sig";

/** A registry that answers each request with the next answer, and records what it was asked. */
function registry(answers: ((req: Request) => Response)[]) {
  const seen: string[] = [];
  const fetch = (async (input: string | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push(`${req.method} ${new URL(req.url).pathname}`);
    return answers.shift()!(req);
  }) as typeof globalThis.fetch;
  return { client: new RegistryClient({ env: {}, fetch }), seen };
}
const manifest = (digest: string) => () =>
  new Response(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json" }), { headers: { "docker-content-digest": digest } });
const status = (code: number) => () => new Response("", { status: code });

describe("a signature tag a failed sign step left", () => {
  test("cosign's tag for an index's signatures", () => {
    expect(signatureTag("127.0.0.1:5000/x/app@sha256:abc")).toBe(TAG);
  });

  test("pushed by the step: deleted by digest", async () => {
    const { client, seen } = registry([manifest("sha256:sig"), status(202)]);
    expect(await removeStraySignature(client, TAG, { digest: null })).toBe(`deleted the signature tag ${TAG} this step pushed`);
    expect(seen).toEqual(["GET /v2/x/app/manifests/sha256-abc.sig", "DELETE /v2/x/app/manifests/sha256:sig"]);
  });

  test("a registry that refuses deletion: the tag is said to be left", async () => {
    const { client } = registry([manifest("sha256:sig"), status(405)]);
    expect(await removeStraySignature(client, TAG, { digest: null })).toMatch(
      /^the signature tag \S+ this step pushed is left in the registry, which refused to delete it \(.*HTTP 405\)/,
    );
  });

  test("none left, or one that held signatures before: nothing is deleted", async () => {
    const none = registry([status(404)]);
    expect(await removeStraySignature(none.client, TAG, { digest: null })).toBeUndefined();
    const same = registry([manifest("sha256:old")]);
    expect(await removeStraySignature(same.client, TAG, { digest: "sha256:old" })).toBeUndefined();
    const grown = registry([manifest("sha256:new")]);
    expect(await removeStraySignature(grown.client, TAG, { digest: "sha256:old" })).toMatch(/held signatures before this step: it keeps them/);
    expect(grown.seen).toEqual(["GET /v2/x/app/manifests/sha256-abc.sig"]);
  });
});

const cosign = (process.env.PATH ?? "").split(":").some((d) => existsSync(join(d, "cosign")));

describe.skipIf(!cosign)("the signer before a run (real cosign)", () => {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-signer-"));
  const pair = (sub: string, password: string) => {
    mkdirSync(join(dir, sub), { recursive: true });
    execFileSync("cosign", ["generate-key-pair"], { cwd: join(dir, sub), env: { ...process.env, COSIGN_PASSWORD: password }, stdio: "ignore" });
  };
  pair("a", "pw-a");
  pair("b", "pw-b");
  const plan = (publicKey: string): Pick<Plan, "stages" | "signing" | "secrets"> => ({
    secrets: [{ file: "a/cosign.key" }, { env: "PW" }],
    signing: {
      mode: "key",
      tlog: false,
      keyPair: {
        publicKeyOf: { program: "cosign", args: ["public-key", "--key", "a/cosign.key"], setEnv: { COSIGN_PASSWORD: { env: "PW" } } },
        publicKey: { file: publicKey },
      },
    },
    stages: [{ name: "sign", steps: [{ id: "sign:app@r", kind: "sign", commands: [], inputs: [], produces: [] }] }],
  });
  const env = (pw: string) => ({ PATH: process.env.PATH, PW: pw });

  test("the key's own public key passes, in any PEM formatting", async () => {
    expect(await signerProblem(plan("a/cosign.pub"), { cwd: dir, env: env("pw-a") })).toBeUndefined();
    writeFileSync(join(dir, "a/crlf.pub"), readFileSync(join(dir, "a/cosign.pub"), "utf8").replace(/\n/g, "\r\n"));
    expect(await signerProblem(plan("a/crlf.pub"), { cwd: dir, env: env("pw-a") })).toBeUndefined();
  });

  test("another pair's public key, a wrong password, no password, a public key that is not one", async () => {
    expect((await signerProblem(plan("b/cosign.pub"), { cwd: dir, env: env("pw-a") }))?.message).toBe(
      "the signing key a/cosign.key and the public key b/cosign.pub are not one pair: every signature would fail its check, after the whole build",
    );
    const wrong = await signerProblem(plan("a/cosign.pub"), { cwd: dir, env: env("pw-b") });
    expect(wrong?.message).toMatch(
      /^cosign cannot open the signing key a\/cosign\.key with the password from \$PW \(a wrong password, or a damaged key\): decrypt/,
    );
    expect(JSON.stringify(wrong)).not.toContain("pw-b");
    expect((await signerProblem(plan("a/cosign.pub"), { cwd: dir, env: { PATH: process.env.PATH } }))?.message).toBe(
      "the signing key a/cosign.key cannot be opened: its password: environment variable PW is not set",
    );
    writeFileSync(join(dir, "junk.pub"), "junk\n");
    expect((await signerProblem(plan("junk.pub"), { cwd: dir, env: env("pw-a") }))?.message).toBe("the public key junk.pub is not a PEM public key");
  });

  test("no cosign: said before the key is looked at", async () => {
    const p = await signerProblem(plan("a/cosign.pub"), { cwd: dir, env: { PATH: dir, PW: "pw-a" } });
    expect(p?.message).toMatch(/^this plan signs with cosign \(sign: in the spec\), which cannot be run here/);
  });
});
