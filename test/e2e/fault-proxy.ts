// A small fault-injecting HTTP proxy in front of the real registry, on loopback only. Rules decide, per
// request, to pass it on, answer with an error status, or cut the connection.
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault = "pass" | { status: number; headers?: Record<string, string> } | "reset";
export type Rule = (req: IncomingMessage) => Fault;

export class FaultProxy {
  rule: Rule = () => "pass";
  readonly seen: { method: string; url: string; fault: string }[] = [];
  private server?: Server;

  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const fault = this.rule(req);
      this.seen.push({ method: req.method ?? "", url: req.url ?? "", fault: typeof fault === "string" ? fault : String(fault.status) });
      if (fault === "reset") {
        req.socket.destroy();
        return;
      }
      if (fault !== "pass") {
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        res.end(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "injected fault" }] }));
        return;
      }
      const up = request({ ...this.upstream, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on("error", () => req.socket.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Counts matching requests and applies `fault` to the first `times` of them. */
export function firstN(times: number, match: (req: IncomingMessage) => boolean, fault: Fault): Rule {
  let n = 0;
  return (req) => (match(req) && n++ < times ? fault : "pass");
}
