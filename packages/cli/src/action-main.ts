// Entry point of the GitHub Action: inputs to a command line, run as the CLI would be.
import { appendFileSync, existsSync } from "node:fs";
import { actionRun } from "./action.ts";
import { runAsProcess } from "./process.ts";

const invocation = actionRun(process.env, process.cwd());
if (!invocation.ok) {
  process.stderr.write(`::error::${invocation.error}\n`);
  process.exitCode = 1;
} else {
  await runAsProcess(invocation.argv, invocation.cwd);
  const out = process.env.GITHUB_OUTPUT;
  if (out && invocation.metadataFile && existsSync(invocation.metadataFile)) appendFileSync(out, `metadata-file=${invocation.metadataFile}\n`);
}
