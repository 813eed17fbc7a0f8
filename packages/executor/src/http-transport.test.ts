import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { httpTransport } from "./http-transport.ts";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A server that records each request and answers with `answer`. */
function server(answer: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const s = http.createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    answer(req, res, body);
  });
  return { s, seen, url: () => `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

const cdn = server((_req, res) => res.end("layer bytes"));
const registry = server((req, res, body) => {
  if (req.url === "/redirect-same") return void res.writeHead(307, { location: "/blob" }).end();
  if (req.url === "/redirect-cdn") return void res.writeHead(307, { location: `${cdn.url()}/blob` }).end();
  if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000);
  res.writeHead(200, { "content-type": "application/json", "docker-content-digest": "sha256:abc" });
  res.end(JSON.stringify({ method: req.method, body }));
});

beforeAll(async () => {
  await Promise.all([cdn, registry].map(({ s }) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
});
afterAll(() => {
  for (const { s } of [cdn, registry]) s.close();
});

describe("httpTransport", () => {
  test("a GET's status, headers and JSON body", async () => {
    const res = await httpTransport(`${registry.url()}/v2/x/manifests/1.0`, { headers: { accept: "application/json" } });
    expect([res.status, res.ok, res.headers.get("Docker-Content-Digest"), res.headers.get("missing")]).toEqual([200, true, "sha256:abc", null]);
    expect(await res.json()).toEqual({ method: "GET", body: "" });
  });

  test("bodies: bytes with their length, a stream, and a form", async () => {
    const bytes = await httpTransport(registry.url(), { method: "PUT", body: new TextEncoder().encode("manifest") });
    expect(await bytes.json()).toEqual({ method: "PUT", body: "manifest" });
    expect(registry.seen.at(-1)!.headers["content-length"]).toBe("8");
    async function* chunks() {
      yield new TextEncoder().encode("a");
      yield new TextEncoder().encode("b");
    }
    expect(await (await httpTransport(registry.url(), { method: "PUT", body: chunks() })).json()).toEqual({ method: "PUT", body: "ab" });
    await httpTransport(registry.url(), { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token" }) });
    expect(registry.seen.at(-1)!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(registry.seen.at(-1)!.body).toBe("grant_type=refresh_token");
  });

  test("a HEAD has no body", async () => {
    const res = await httpTransport(registry.url(), { method: "HEAD" });
    expect([res.status, res.body]).toEqual([200, null]);
  });

  test("redirects are followed; credentials go to the same origin only", async () => {
    const same = await httpTransport(`${registry.url()}/redirect-same`, { headers: { authorization: "Bearer t" } });
    expect(same.status).toBe(200);
    expect(registry.seen.at(-1)).toMatchObject({ url: "/blob", headers: { authorization: "Bearer t" } });
    const moved = await httpTransport(`${registry.url()}/redirect-cdn`, { headers: { authorization: "Bearer t" } });
    expect(Buffer.from(await moved.arrayBuffer()).toString()).toBe("layer bytes");
    expect(cdn.seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  test("a streamed body, and one left unread, return their connection", async () => {
    let text = "";
    for await (const c of (await httpTransport(`${registry.url()}/x`, {})).body!) text += Buffer.from(c).toString();
    expect(JSON.parse(text).method).toBe("GET");
    await (await httpTransport(`${registry.url()}/x`, {})).body!.cancel();
    expect((await httpTransport(`${registry.url()}/x`, {})).status).toBe(200);
  });

  test("a signal stops a request", async () => {
    const err = await httpTransport(`${registry.url()}/slow`, { signal: AbortSignal.timeout(100) }).catch((e: Error) => e);
    expect((err as Error).name).toMatch(/Abort|Timeout/);
  });
});
