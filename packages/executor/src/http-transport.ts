// The registry client's HTTP: node's http and https modules with kept-alive connections. Node's global
// fetch costs about 150 ms of CPU to load (undici) and twice the CPU per request (measured: 400 manifest
// reads, 0.2-0.3 s against 0.45-0.9 s), and an incremental apply reads one manifest per tag.
import type * as Http from "node:http";
import { Readable } from "node:stream";

/** What a request sends: a fresh body per call (a stream cannot be sent twice). */
export interface TransportRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array> | URLSearchParams;
  signal?: AbortSignal;
}

/** The part of a fetch Response the client reads, so a test may pass fetch itself. */
export interface TransportResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null;
  arrayBuffer(): Promise<ArrayBuffer>;
  json(): Promise<unknown>;
}

export type Transport = (url: string | URL, init: TransportRequest) => Promise<TransportResponse>;

type Scheme = { lib: Pick<typeof Http, "request">; agent: Http.Agent };
let schemes: { "http:": Scheme; "https:": Scheme } | undefined;
/** http and https with their kept-alive agents, loaded on the first request: plan and validate make none (tls alone costs start-up). */
function scheme(protocol: string): Scheme {
  if (!schemes) {
    const http = process.getBuiltinModule("node:http");
    const https = process.getBuiltinModule("node:https");
    schemes = { "http:": { lib: http, agent: new http.Agent({ keepAlive: true }) }, "https:": { lib: https, agent: new https.Agent({ keepAlive: true }) } };
  }
  return protocol === "https:" ? schemes["https:"] : schemes["http:"];
}
const REDIRECTS = 5;
/** A response body this large is dropped with its connection rather than read to the end. */
const DRAIN_LIMIT = 1 << 20;

export const httpTransport: Transport = async (url, init) => {
  let target = new URL(url);
  let headers = { ...init.headers };
  for (let hop = 0; ; hop++) {
    const res = await once(target, { ...init, headers });
    const location = res.headers.location;
    const method = init.method ?? "GET";
    if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && location && (method === "GET" || method === "HEAD") && hop < REDIRECTS) {
      res.resume();
      const next = new URL(location, target);
      // a blob served from another host (a CDN) is not sent the registry's credentials
      if (next.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== "authorization"));
      target = next;
      continue;
    }
    return response(res, method);
  }
};

function once(url: URL, init: TransportRequest): Promise<Http.IncomingMessage> {
  const { lib, agent } = scheme(url.protocol);
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (body instanceof URLSearchParams) {
    headers["content-type"] ??= "application/x-www-form-urlencoded;charset=UTF-8";
    body = new TextEncoder().encode(body.toString());
  }
  if (body instanceof Uint8Array) headers["content-length"] ??= String(body.byteLength);
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: init.method ?? "GET",
      headers,
      agent,
      ...(init.signal ? { signal: init.signal } : {}),
    });
    req.on("response", resolve);
    req.on("error", reject);
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else
      Readable.from(body)
        .on("error", (e) => req.destroy(e))
        .pipe(req);
  });
}

function response(res: Http.IncomingMessage, method: string): TransportResponse {
  const status = res.statusCode ?? 0;
  // a body nobody reads may still be aborted (a timeout): that must not end the process
  res.on("error", () => {});
  const read = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const cancel = async () => {
    if (Number(res.headers["content-length"] ?? 0) > DRAIN_LIMIT) res.destroy();
    else res.resume();
  };
  const body = method === "HEAD" ? null : Object.assign(res as AsyncIterable<Uint8Array>, { cancel });
  if (!body) res.resume();
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
      },
    },
    body,
    arrayBuffer: async () => {
      const b = await read();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
    json: async () => JSON.parse((await read()).toString("utf8")),
  };
}
