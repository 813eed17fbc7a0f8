// For tests: a registry that accepts TCP connections and never answers (a host that hangs), on a loopback
// port of its own. It is the scenario itself, not a stand-in for a registry's answers.
import { type AddressInfo, createServer, type Socket } from "node:net";

export async function silentRegistry(): Promise<{ host: string; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
