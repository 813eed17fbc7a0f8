import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";
import { RegistryClient, type RegistryError, type RegistryWait, retryDelayMs } from "./registry.ts";
import { silentRegistry } from "./testing/silent-registry.ts";

setFlagsFromString("--expose-gc");
/** V8's collector, asked for: a timeout signal only AbortSignal.any holds is collected then (nodejs/node#57736). */
const gc = runInNewContext("gc") as () => void;

const REF = { host: "reg.example", path: "team/app", tag: "1" };
const INDEX = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] });

function configWith(config: object) {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-dockercfg-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return { DOCKER_CONFIG: dir };
}

/** A fake registry: answers each request with the next response, and records what it was asked. */
function scripted(answers: ((req: Request) => Response)[]) {
  const seen: Request[] = [];
  const fetch = (async (input: string | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push(req.clone());
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${req.method} ${req.url}`);
    return next(req);
  }) as typeof globalThis.fetch;
  return { fetch, seen };
}

describe("the registry client", () => {
  test("a 429 waits as long as Retry-After says, then reads", async () => {
    const waits: number[] = [];
    const { fetch } = scripted([() => new Response("slow down", { status: 429, headers: { "retry-after": "2" } }), () => new Response(INDEX)]);
    const client = new RegistryClient({ env: configWith({}), fetch, sleep: async (ms) => void waits.push(ms) });
    expect((await client.manifest(REF)).json.schemaVersion).toBe(2);
    expect(waits).toEqual([2000]);
  });

  test("Retry-After as seconds or an HTTP date; without it a short backoff", () => {
    expect(retryDelayMs("3", 1)).toBe(3000);
    expect(retryDelayMs(new Date(10_000).toUTCString(), 1, 4_000)).toBe(6_000);
    expect(retryDelayMs(null, 2)).toBe(400);
  });

  test("Bearer: an identity token is exchanged with an OAuth2 POST for the request's scope, then sent", async () => {
    const challenge = 'Bearer realm="https://auth.example/token",service="reg",scope="repository:team/app:pull"';
    const { fetch, seen } = scripted([
      () => new Response("", { status: 401, headers: { "www-authenticate": challenge } }),
      () => Response.json({ access_token: "jwt-1" }),
      (req) => new Response(req.headers.get("authorization") === "Bearer jwt-1" ? INDEX : "", { status: req.headers.get("authorization") ? 200 : 401 }),
    ]);
    const client = new RegistryClient({ env: configWith({ auths: { "reg.example": { identitytoken: "refresh-123" } } }), fetch });
    await client.manifest(REF);
    expect(seen[0]!.headers.get("authorization")).toBeNull(); // nothing sent before the registry asks
    expect(seen[1]!.method).toBe("POST");
    expect(Object.fromEntries(new URLSearchParams(await seen[1]!.text()))).toMatchObject({
      grant_type: "refresh_token",
      refresh_token: "refresh-123",
      service: "reg",
      scope: "repository:team/app:pull",
    });
  });

  test("Bearer with a password: a GET with Basic auth; anonymous without credentials", async () => {
    const challenge = 'Bearer realm="https://auth.example/token",service="reg"';
    const { fetch, seen } = scripted([
      () => new Response("", { status: 401, headers: { "www-authenticate": challenge } }),
      () => Response.json({ token: "jwt-2" }),
      () => new Response(INDEX),
    ]);
    const auth = Buffer.from("u:pw").toString("base64");
    await new RegistryClient({ env: configWith({ auths: { "reg.example": { auth } } }), fetch }).manifest(REF);
    expect(seen[1]!.method).toBe("GET");
    expect(new URL(seen[1]!.url).searchParams.get("scope")).toBe("repository:team/app:pull");
    expect(seen[1]!.headers.get("authorization")).toBe(`Basic ${auth}`);
    expect(seen[2]!.headers.get("authorization")).toBe("Bearer jwt-2");
  });

  test("a 401 names the registry's realm and where credentials were looked for", async () => {
    const env = configWith({});
    const { fetch } = scripted([() => new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="private-zone"' } })]);
    const err = (await new RegistryClient({ env, fetch }).manifest(REF).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(
      `reg.example/team/app: manifests 1: HTTP 401 (realm private-zone): no credentials found in ${env.DOCKER_CONFIG}/config.json (no auths entry, credHelpers entry or credsStore for reg.example)`,
    );
  });

  // found by a review: a refusal without a challenge (a 403, or a 401 with no realm) said "(realm not given)"
  test("a 403 says the credentials do not allow it, and names no realm", async () => {
    const env = configWith({ auths: { "reg.example": { auth: Buffer.from("u:pw").toString("base64") } } });
    const { fetch } = scripted([() => new Response("", { status: 403 })]);
    const err = (await new RegistryClient({ env, fetch }).manifest(REF).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(
      `reg.example/team/app: manifests 1: HTTP 403: the credentials from auths["reg.example"] in ${env.DOCKER_CONFIG}/config.json do not allow this`,
    );
  });

  // found by a review: a registry that never answered was said as "The operation was aborted"
  test("a request with no answer says it timed out, and which", async () => {
    const hang = ((_: string | URL, init?: RequestInit) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)))) as typeof globalThis.fetch;
    const err = (await new RegistryClient({ env: configWith({}), fetch: hang, timeoutMs: 20 }).manifest(REF).catch((e: Error) => e)) as RegistryError;
    expect(err.message).toMatch(/^reg\.example\/team\/app: GET manifests\/1: no answer in 0\.0\d+ s in all \(3 attempts of 0\.02 s\)$/);
    expect(err.noAnswer).toBe("timeout");
  });

  // found by a failure-scenario review: a registry that accepts connections and never answers cost 4
  // minutes, with nothing said meanwhile; and with the run's signal beside the timeout, a collected
  // timeout signal (nodejs/node#57736) left a request waiting for ever
  test("a registry that accepts and never answers: said once while waited on, given up on in the attempts' time", async () => {
    const silent = await silentRegistry();
    const host = silent.host;
    const waits: RegistryWait[] = [];
    const client = new RegistryClient({
      env: { ...configWith({}), MULTIARCH_REGISTRY_TIMEOUT: "2" },
      signal: new AbortController().signal,
      onWait: (w) => void waits.push(w),
    });
    const collect = setInterval(gc, 20);
    const t0 = performance.now();
    try {
      const [one, two] = await Promise.all(
        ["1", "2"].map((tag) =>
          client.manifest({ host, path: "team/app", tag }).then(
            () => undefined,
            (e: RegistryError) => e,
          ),
        ),
      );
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThan(5_900);
      expect(ms).toBeLessThan(8_000);
      expect(one!.message).toMatch(new RegExp(`^${host}/team/app: GET manifests/1: no answer in 6(\\.\\d)? s in all \\(3 attempts of 2 s\\)$`));
      expect([one!.noAnswer, two!.noAnswer]).toEqual(["timeout", "timeout"]);
      // one line for the host, not one per request
      expect(waits).toEqual([{ host, request: "GET /v2/team/app/manifests/1", waitedMs: 5_000, limitMs: 6_000 }]);
    } finally {
      clearInterval(collect);
      silent.close();
    }
    // nobody listening: refused, after the client's attempts
    const refused = (await client.manifest({ host, path: "team/app", tag: "1" }).catch((e: RegistryError) => e)) as RegistryError;
    expect(refused.noAnswer).toBe("refused");
  }, 20_000);

  // found by a review: the registry's Basic credentials went to whatever host its upload Location named
  test("an upload Location on another host is sent no credentials", async () => {
    const auth = Buffer.from("u:pw").toString("base64");
    const seen: [string, string | undefined][] = [];
    const answers = [
      new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } }),
      new Response("", { status: 202, headers: { location: "http://127.0.0.2:5998/steal/upload" } }),
      new Response("", { status: 201 }),
    ];
    // the upload's body is a stream, which a Request cannot hold without more options: the headers alone are kept
    const fetch = (async (input: string | URL, init?: RequestInit) => {
      seen.push([new URL(String(input)).host, (init?.headers as Record<string, string> | undefined)?.authorization]);
      return answers.shift()!;
    }) as typeof globalThis.fetch;
    const client = new RegistryClient({ env: configWith({ auths: { "reg.example": { auth } } }), fetch });
    await client.pushBlob(REF, "sha256:abc", 1, async function* () {
      yield new Uint8Array([1]);
    });
    expect(seen).toEqual([
      ["reg.example", undefined],
      ["reg.example", `Basic ${auth}`],
      ["127.0.0.2:5998", undefined],
    ]);
  });

  // found by a review: the spec's credentials, refused by a token service, were called docker's
  test("a token service's refusal names whose credentials it refused", async () => {
    const challenge = 'Bearer realm="https://auth.example/token",service="reg"';
    const { fetch } = scripted([() => new Response("", { status: 401, headers: { "www-authenticate": challenge } }), () => new Response("", { status: 401 })]);
    const credentials = { "reg.example": { username: "u", password: "wrong" } };
    const err = (await new RegistryClient({ env: configWith({}), fetch, credentials }).manifest(REF).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(
      "reg.example: the token service https://auth.example/token refused the credentials from the spec's registry credentials for repository:team/app:pull: HTTP 401",
    );
  });
});
