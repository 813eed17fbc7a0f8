// The GitHub Action (action.yml at the repository root): its inputs, as the runner passes them
// (INPUT_<NAME> variables), become one multiarch command line. Pure: environment in, invocation out.
import { join, resolve } from "node:path";

export type ActionRun = { ok: true; argv: string[]; cwd: string; metadataFile?: string } | { ok: false; error: string };

const COMMANDS = ["apply", "merge", "plan", "validate", "doctor", "inspect"];
/** Inputs that are one flag each. */
const FLAGS: Record<string, string> = { file: "--file", shard: "--shard", platform: "--platform", from: "--from" };

const input = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const v = env[`INPUT_${name.toUpperCase()}`]?.trim();
  return v ? v : undefined;
};

export function actionRun(env: NodeJS.ProcessEnv, cwd: string): ActionRun {
  const command = input(env, "command") ?? "apply";
  if (!COMMANDS.includes(command)) return { ok: false, error: `input command: ${command} is not one of ${COMMANDS.join(", ")}` };
  const argv = [command];
  for (const [name, flag] of Object.entries(FLAGS)) {
    // shard, platform and from take several values, one a line or comma-separated
    for (const v of (input(env, name) ?? "").split(name === "file" ? /\n/ : /[\n,]/)) if (v.trim()) argv.push(flag, v.trim());
  }
  // args: further arguments, separated by white space (no shell: quotes are not interpreted)
  argv.push(...(input(env, "args") ?? "").split(/\s+/).filter(Boolean));
  const dir = resolve(cwd, input(env, "working-directory") ?? ".");
  // apply and merge say what they published, for the steps after them
  const publishes = command === "apply" || command === "merge";
  const metadataFile = publishes ? resolve(dir, input(env, "metadata-file") ?? join(env.RUNNER_TEMP ?? dir, "multiarch-metadata.json")) : undefined;
  if (metadataFile && !argv.includes("--metadata-file")) argv.push("--metadata-file", metadataFile);
  return { ok: true, argv, cwd: dir, ...(metadataFile ? { metadataFile } : {}) };
}
