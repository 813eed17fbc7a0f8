// The engine tier's global set-up: images that tests pulled or loaded into an engine (a `docker run` of
// a pushed tag, `--load`) are removed when the tier ends, from both engines. The containerd image store's
// removal slows as images pile up (15 s for one `docker image rm` at 900 images, 1 s at 50, measured), and
// every run of the suite would leave about 40 more. Images that were there before the suite are never touched.
import { spawn, spawnSync } from "node:child_process";
import { env } from "./helpers.ts";

/** The IDs of every image an engine holds (pulls by digest have neither tag nor digest to name them by). */
function engineImages(host: string | undefined): Set<string> {
  const r = spawnSync("docker", ["image", "ls", "--all", "--quiet", "--no-trunc"], { encoding: "utf8", env: engineEnv(host) });
  return new Set(r.status === 0 ? r.stdout.split("\n").filter(Boolean) : []);
}

const engineEnv = (host: string | undefined) => (host ? { ...process.env, DOCKER_HOST: host } : process.env);

export default function setup(): () => void {
  const hosts = [process.env.DOCKER_HOST, ...(env ? [env.docker2] : [])];
  const before = hosts.map(engineImages);
  return () => {
    hosts.forEach((host, i) => {
      const added = [...engineImages(host)].filter((id) => !before[i]!.has(id));
      if (added.length === 0) return;
      // in the background: the suite's result does not wait for the engine's garbage collection
      const child = spawn("docker", ["image", "rm", "--force", ...added], { detached: true, stdio: "ignore", env: engineEnv(host) });
      child.on("error", () => {});
      child.unref();
    });
  };
}
