import { commandOf, run } from "./cli.ts";
import { EXIT, JSON_VERSION } from "./context.ts";
import { fdWriter } from "./fd-writer.ts";
import type { Recorder } from "./result-cache.ts";

/**
 * Runs the CLI as this process: its exit code becomes the process's.
 * Ctrl-C / SIGTERM abort the run: children are stopped through execa's cancelSignal, the report says
 * what was done, and the publish stage never starts half-way.
 * A second signal exits at once (with --json, a document that says so). The listeners stay registered: execa's clean-up hooks re-raise a
 * signal that no other listener handles, which would kill us before the report is written.
 * validate's reads and output are recorded when bin/multiarch.js gives a recorder (result-cache.ts).
 */
export async function runAsProcess(argv: string[], cwd: string, recorder?: Recorder): Promise<number> {
  const controller = new AbortController();
  let lost: string | undefined;
  const recording = commandOf(argv).name === "validate" ? recorder?.(argv, cwd, process.env) : undefined;
  const fd1 = fdWriter(
    1,
    () => process.stdout,
    (e) => (lost = e.code ?? e.message),
  );
  const fd2 = fdWriter(2, () => process.stderr);
  const [stdout, stderr] = recording ? [recording.tee(fd1, "out"), recording.tee(fd2, "err")] : [fd1, fd2];
  const json = argv.some((a) => a === "--json" || a.startsWith("--json="));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) {
        // no report will come: --json's reader still gets one document
        const message = `stopped at once by a second signal (${sig}): there is no report of what the run did`;
        const doc = { version: JSON_VERSION, command: commandOf(argv).name ?? "", ok: false, exitCode: EXIT.interrupted, message, errors: [], warnings: [] };
        stderr.write(`multiarch: ${message}\n`);
        if (json) fd1.write(`${JSON.stringify(doc, null, 2)}\n`);
        process.exit(EXIT.interrupted);
      }
      // through the run's writer: a reader gone with the signal (`| head`, Ctrl-C) costs no crash
      stderr.write(`\nmultiarch: ${sig}, stopping...\n`);
      controller.abort();
    });
  }
  const code = await run(argv, { stdout, stderr, cwd, env: recording?.env ?? process.env }, controller.signal);
  recording?.finish(code, lost === undefined && !controller.signal.aborted);
  // output that could not be written whole (a full disk) is no success, whatever the command did
  if (lost !== undefined) stderr.write(`multiarch: the output could not be written whole (${lost})\n`);
  process.exitCode = lost !== undefined && code === EXIT.ok ? EXIT.environment : code;
  return process.exitCode;
}
