import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { githubWorkflow, gitlabPipeline } from "@multiarch/compiler";
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { displayPath } from "../format.ts";
import { loadFromFlags } from "./load.ts";

const PROVIDERS = { github: ".github/workflows/multiarch.yml", gitlab: ".gitlab-ci.yml" } as const;

export default async function ci({ values, io, positionals }: CommandContext): Promise<Outcome> {
  const provider = positionals[0];
  if (positionals.length !== 1 || (provider !== "github" && provider !== "gitlab"))
    return { exit: EXIT.usage, message: "say which CI: multiarch ci github, or multiarch ci gitlab" };
  const loaded = loadFromFlags(values, io);
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const spec = loaded.spec;
  const specPath = relative(spec.root, spec.file).split(sep).join("/");
  const text = provider === "github" ? githubWorkflow(spec, { specPath }) : gitlabPipeline(spec, { specPath });
  const out = typeof values.out === "string" ? resolve(io.cwd, values.out) : join(spec.root, PROVIDERS[provider]);
  if (existsSync(out) && !values.force) return { exit: EXIT.usage, message: `${displayPath(out, io.cwd)} exists; pass --force to replace it` };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  io.stderr.write(`wrote ${displayPath(out, io.cwd)} (${text.split("\n").length} lines)\n`);
  return { exit: EXIT.ok, warnings: loaded.warnings, data: { files: [out] } };
}
