import { run } from "./cli.ts";
import { EXIT } from "./context.ts";
import { fdWriter } from "./fd-writer.ts";

/**
 * Runs the CLI as this process: its exit code becomes the process's.
 * Ctrl-C / SIGTERM abort the run: children are stopped through execa's cancelSignal, the report says
 * what was done, and the publish stage never starts half-way.
 * A second signal exits at once. The listeners stay registered: execa's clean-up hooks re-raise a
 * signal that no other listener handles, which would kill us before the report is written.
 */
export async function runAsProcess(argv: string[], cwd: string): Promise<number> {
  const controller = new AbortController();
  let lost: string | undefined;
  const stdout = fdWriter(
    1,
    () => process.stdout,
    (e) => (lost = e.code ?? e.message),
  );
  const stderr = fdWriter(2, () => process.stderr);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) process.exit(130);
      // through the run's writer: a reader gone with the signal (`| head`, Ctrl-C) costs no crash
      stderr.write(`\nmultiarch: ${sig}, stopping...\n`);
      controller.abort();
    });
  }
  const code = await run(argv, { stdout, stderr, cwd, env: process.env }, controller.signal);
  // output that could not be written whole (a full disk) is no success, whatever the command did
  if (lost !== undefined) stderr.write(`multiarch: the output could not be written whole (${lost})\n`);
  process.exitCode = lost !== undefined && code === EXIT.ok ? EXIT.environment : code;
  return process.exitCode;
}
